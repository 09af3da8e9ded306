forge::include_udpl!(mod prompts = "tests/ui/fixtures/typed.toml");

fn main() {
    let sampler = forge::resources::ListSampler::new(["be kind"]).unwrap();
    let _ = prompts::builder().constitution(sampler).build();
}
