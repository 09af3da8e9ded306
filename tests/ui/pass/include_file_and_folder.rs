// A file and a folder document through `include_udpl!`, keyword sequence names, typed tags.
forge::include_udpl!(mod file = "tests/ui/fixtures/good.toml");
forge::include_udpl!(pub mod folder = "tests/ui/fixtures/folder");

fn main() {
    let mut p = file::builder().persona("tutor").build().unwrap();
    p.run(file::Ask).unwrap();
    p.extract("answers", &[file::Tag::Final]).unwrap();
    let w = p.compile().unwrap();
    let s = w.sample_seeded(file::Args { question: "why?" }, 0).unwrap();
    assert_eq!(s.zone(1).text(), " tutor answers: why? [Answer]");

    let mut p = folder::builder().build().unwrap();
    p.loop_(folder::Loop { min: 2 }, |b| {
        b.run(folder::If)?;
        Ok(())
    })
    .unwrap();
    p.capture(folder::Type, folder::Tool::Search).unwrap();
    assert_eq!(p.compile().unwrap().zone_count(), 9);
}
