forge::include_udpl!(mod prompts = "tests/ui/fixtures/typed.toml");

fn main() {
    // Tools registered through the typed enum: a tool the document does not declare has no
    // variant, so the run cannot even be set up with it.
    let mut tools = forge::exec::Tools::new(prompts::Tool::ALL);
    let _ = tools.add(prompts::Tool::Fetch, |q: &str| {
        Ok::<_, std::io::Error>(q.to_owned())
    });
}
