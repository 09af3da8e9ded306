#![doc = "[udpl.md]: crate::spec::udpl"]
#![doc = "[resources.md]: crate::spec::resources"]
#![doc = "[programs.md]: crate::spec::programs"]
#![doc = "[execution.md]: crate::spec::execution"]
#![doc = "[datasets.md]: crate::spec::datasets"]
#![doc = "[runs.md]: crate::spec::runs"]
#![doc = ""]
#![doc = include_str!("../docs/README.md")]

// Each document of `docs/` is the page of one module here, so docs.rs shows the specification
// next to the API. The documents link to each other by link labels (`[runs.md]`,
// `[programs.md#2-bounded-loops]`) defined at their end for GitHub; the definitions below
// come first, and so win, in rustdoc.

/// Link labels the documents use, pointing at the modules of this one.
macro_rules! spec_page {
    ($name:ident = $file:literal) => {
        #[doc = "[udpl.md]: crate::spec::udpl"]
        #[doc = "[resources.md]: crate::spec::resources"]
        #[doc = "[programs.md]: crate::spec::programs"]
        #[doc = "[execution.md]: crate::spec::execution"]
        #[doc = "[datasets.md]: crate::spec::datasets"]
        #[doc = "[runs.md]: crate::spec::runs"]
        #[doc = "[udpl.md#5-resource-types-when-a-placeholder-is-bound]: crate::spec::udpl#5-resource-types-when-a-placeholder-is-bound"]
        #[doc = "[programs.md#2-bounded-loops]: crate::spec::programs#2-bounded-loops"]
        #[doc = "[programs.md#3-a-program-declared-in-the-document-extension]: crate::spec::programs#3-a-program-declared-in-the-document-extension"]
        #[doc = "[programs.md#4-sampling]: crate::spec::programs#4-sampling"]
        #[doc = "[runs.md#3-interruption-resume-retries]: crate::spec::runs#3-interruption-resume-retries"]
        #[doc = "[runs.md#4-shards-and-many-machines]: crate::spec::runs#4-shards-and-many-machines"]
        #[doc = ""]
        #[doc = include_str!(concat!("../docs/", $file))]
        pub mod $name {}
    };
}

spec_page!(udpl = "udpl.md");
spec_page!(resources = "resources.md");
spec_page!(programs = "programs.md");
spec_page!(execution = "execution.md");
spec_page!(datasets = "datasets.md");
spec_page!(runs = "runs.md");
