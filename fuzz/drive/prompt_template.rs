//! Templates and prompt formatting: the input's first line is a template, the next lines
//! `key=value` metadata and `choices=a,b,c`; the template is parsed, formatted with the tiny
//! random package's prompt conventions (with and without a cell) and tokenized.

use std::sync::OnceLock;

use instructcell::package::ModelPackage;
use instructcell::prompt::{Metadata, PromptFormatter, Template, TextTokenizer};

fn setup() -> &'static (PromptFormatter, TextTokenizer) {
    static S: OnceLock<(PromptFormatter, TextTokenizer)> = OnceLock::new();
    S.get_or_init(|| {
        let root = crate::common::root();
        let p = ModelPackage::open(root.join("tests/data/tiny-random")).unwrap();
        let f = PromptFormatter::new(p.manifest().prompt.clone());
        let t = TextTokenizer::from_file(&p.path_of("tokenizer.json")).unwrap();
        (f, t)
    })
}

/// One input.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.split('\n');
    let template = lines.next().unwrap_or_default();
    let mut meta = Metadata::new();
    let mut choices: Option<Vec<String>> = None;
    for line in lines {
        match line.split_once('=') {
            Some(("choices", v)) => choices = Some(v.split(',').map(str::to_string).collect()),
            Some((k, v)) => meta.insert(k, v),
            None => {}
        }
    }
    let (formatter, tokenizer) = setup();
    let Ok(t) = Template::parse(template) else {
        return;
    };
    for with_cell in [false, true] {
        if let Ok(s) = formatter.format(&t, &meta, choices.as_deref(), with_cell) {
            let _ = tokenizer.encode(&s);
        }
    }
}
