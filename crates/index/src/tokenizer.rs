//! The two analyzers of the index. `jieba`: search-mode words (one shared dictionary, see
//! `dangan_text::jieba`), for ranking by words. `bigram`: overlapping character pairs of every
//! Chinese run plus its last character, and whole Latin/digit words, with positions — a query
//! turned into the same pairs and matched as a phrase finds exactly the texts that contain it
//! as a substring, however jieba would have cut either (the recall guarantee).

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// jieba search mode over the normalized text. The shared dictionary is loaded by the first
/// text cut, not when the index opens: a sync of names alone, or a process that only looks at
/// where the index stands, never pays for it.
#[derive(Clone, Default)]
pub struct JiebaTokenizer;

impl JiebaTokenizer {
    pub fn words(&self, text: &str) -> Vec<String> {
        let norm = dangan_text::normalize_for_search(text);
        dangan_text::segment_for_search(dangan_text::jieba(), &norm)
            .into_iter()
            .map(|(w, _)| w)
            .collect()
    }
}

/// The analyzers take text already in its search form (`dangan_text::normalize_for_search`):
/// documents are normalized once for both fields, queries by the query builder.
impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = JiebaStream<'a>;

    fn token_stream<'a>(&'a mut self, norm: &'a str) -> JiebaStream<'a> {
        JiebaStream {
            words: dangan_text::jieba().cut_for_search(norm, true),
            next: 0,
            position: 0,
            token: Token::default(),
        }
    }
}

/// Whether the `words` field keeps a jieba word: only words the `grams` field does not
/// already hold as a term — a word with an ideograph, of three or more characters or mixing
/// ideographs with letters or digits (志愿服务, 三会一课, a股). Two-ideograph words (党员: two
/// in three of all words) are bigram terms already, Latin and digit words are whole `grams`
/// terms, and one ideograph never ranks (see `plan::ranked_grams`); indexing them again cost
/// a fifth of an index build for a second copy of the same ranking evidence.
pub(crate) fn ranks_as_word(w: &str) -> bool {
    let mut chars = 0;
    let mut ideographs = 0;
    for c in w.chars() {
        chars += 1;
        if dangan_text::is_cjk(c) {
            ideographs += 1;
        } else if !c.is_alphanumeric() {
            return false;
        }
    }
    ideographs > 0 && (chars >= 3 || ideographs < chars)
}

/// jieba's words the `words` field keeps, one reused token (no string per word).
pub struct JiebaStream<'a> {
    words: Vec<jieba_rs::Token<'a>>,
    next: usize,
    position: usize,
    token: Token,
}

impl TokenStream for JiebaStream<'_> {
    fn advance(&mut self) -> bool {
        while let Some(w) = self.words.get(self.next) {
            self.next += 1;
            if ranks_as_word(w.word) {
                self.token.text.clear();
                self.token.text.push_str(w.word);
                self.token.offset_from = w.byte_start;
                self.token.offset_to = w.byte_start + w.word.len();
                self.token.position = self.position;
                self.position += 1;
                return true;
            }
        }
        false
    }
    fn token(&self) -> &Token {
        &self.token
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

/// Bigrams of the normalized text, see the module doc.
#[derive(Clone, Default)]
pub struct BigramTokenizer;

/// A token of the bigram analyzer: text and position.
pub type Gram = (String, usize);

/// The bigram tokens of already normalized text. `for_query`: when the query ends with a
/// Chinese run of two or more characters, that run gives only its pairs (in a text the run may
/// go on past the query's last character, so its last character is not a run end there).
pub fn bigrams(norm: &str, for_query: bool) -> Vec<Gram> {
    // Runs: (chars, is_chinese).
    let chars: Vec<char> = norm.chars().collect();
    let mut runs: Vec<(&[char], bool)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if dangan_text::is_cjk(c) {
            while i < chars.len() && dangan_text::is_cjk(chars[i]) {
                i += 1;
            }
            runs.push((&chars[start..i], true));
        } else if c.is_alphanumeric() {
            while i < chars.len() && chars[i].is_alphanumeric() && !dangan_text::is_cjk(chars[i]) {
                i += 1;
            }
            runs.push((&chars[start..i], false));
        } else {
            i += 1;
        }
    }
    let mut out = Vec::new();
    let last = runs.len().saturating_sub(1);
    for (n, (run, chinese)) in runs.into_iter().enumerate() {
        if chinese {
            for w in run.windows(2) {
                out.push((w.iter().collect(), out.len()));
            }
            if !(for_query && n == last && run.len() >= 2) {
                out.push((run[run.len() - 1].to_string(), out.len()));
            }
        } else {
            out.push((run.iter().collect(), out.len()));
        }
    }
    out
}

impl Tokenizer for BigramTokenizer {
    type TokenStream<'a> = BigramStream<'a>;

    fn token_stream<'a>(&'a mut self, norm: &'a str) -> BigramStream<'a> {
        BigramStream {
            chars: norm.chars(),
            pending: None,
            prev: None,
            position: 0,
            token: Token::default(),
        }
    }
}

/// The index-time bigrams (what `bigrams(text, false)` gives), streamed into one reused
/// token: the allocation per token was a fifth of the build.
pub struct BigramStream<'a> {
    chars: std::str::Chars<'a>,
    /// A character read past the end of a Chinese run, not looked at yet.
    pending: Option<char>,
    /// The last character of the Chinese run being read.
    prev: Option<char>,
    position: usize,
    token: Token,
}

impl BigramStream<'_> {
    fn emit(&mut self) -> bool {
        self.token.position = self.position;
        self.position += 1;
        true
    }
}

impl TokenStream for BigramStream<'_> {
    fn advance(&mut self) -> bool {
        loop {
            let Some(c) = self.pending.take().or_else(|| self.chars.next()) else {
                // The text ends: a Chinese run ending here gives its last character.
                return match self.prev.take() {
                    Some(p) => {
                        self.token.text.clear();
                        self.token.text.push(p);
                        self.emit()
                    }
                    None => false,
                };
            };
            if dangan_text::is_cjk(c) {
                let prev = self.prev.replace(c);
                if let Some(p) = prev {
                    self.token.text.clear();
                    self.token.text.push(p);
                    self.token.text.push(c);
                    return self.emit();
                }
                continue;
            }
            if let Some(p) = self.prev.take() {
                self.pending = Some(c);
                self.token.text.clear();
                self.token.text.push(p);
                return self.emit();
            }
            if c.is_alphanumeric() {
                self.token.text.clear();
                self.token.text.push(c);
                for d in self.chars.by_ref() {
                    if d.is_alphanumeric() && !dangan_text::is_cjk(d) {
                        self.token.text.push(d);
                    } else {
                        self.pending = Some(d);
                        break;
                    }
                }
                return self.emit();
            }
        }
    }
    fn token(&self) -> &Token {
        &self.token
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(v: Vec<Gram>) -> Vec<String> {
        v.into_iter().map(|(t, _)| t).collect()
    }

    /// The streamed index-time tokens are the query builder's bigrams.
    #[test]
    fn stream_gives_the_bigrams() {
        for text in [
            "志愿服务abc 12党",
            "党",
            "a党b",
            "，。志愿 服务！！x",
            "",
            "abc",
            "数字化2024年第3季度党员大会",
        ] {
            let mut t = BigramTokenizer;
            let mut stream = t.token_stream(text);
            let mut got = Vec::new();
            while stream.advance() {
                got.push((stream.token().text.clone(), stream.token().position));
            }
            assert_eq!(got, bigrams(text, false), "{text}");
        }
    }

    /// The words field keeps what the bigrams do not hold.
    #[test]
    fn words_field_keeps_what_bigrams_lack() {
        for (w, kept) in [
            ("志愿服务", true),
            ("三会一课", true),
            ("共和国", true),
            ("a股", true),
            ("3季度", true),
            ("党员", false),
            ("党", false),
            ("abc", false),
            ("2024", false),
            ("，", false),
            ("志愿-服务", false),
        ] {
            assert_eq!(ranks_as_word(w), kept, "{w}");
        }
        let mut t = JiebaTokenizer;
        let mut stream = t.token_stream("积极参加志愿服务和三会一课");
        let mut got = Vec::new();
        while stream.advance() {
            got.push(stream.token().text.clone());
        }
        assert!(got.contains(&"三会一课".to_string()), "{got:?}");
        assert!(!got.iter().any(|w| w.chars().count() < 3), "{got:?}");
    }

    #[test]
    fn pairs_last_character_and_latin_words() {
        assert_eq!(
            texts(bigrams("志愿服务abc 12党", false)),
            vec!["志愿", "愿服", "服务", "务", "abc", "12", "党"]
        );
        assert_eq!(texts(bigrams("志愿服", true)), vec!["志愿", "愿服"]);
        assert_eq!(texts(bigrams("党", true)), vec!["党"]);
        // A run followed by more of the query ends there in the text too.
        assert_eq!(texts(bigrams("志愿a", true)), vec!["志愿", "愿", "a"]);
    }
}
