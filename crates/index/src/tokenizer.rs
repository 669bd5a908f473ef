//! The two analyzers of the index. `jieba`: search-mode words (one shared dictionary, see
//! `dangan_text::jieba`), for ranking by words. `bigram`: overlapping character pairs of every
//! Chinese run plus its last character, and whole Latin/digit words, with positions — a query
//! turned into the same pairs and matched as a phrase finds exactly the texts that contain it
//! as a substring, however jieba would have cut either (the recall guarantee).

use std::sync::Arc;

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// Tokens computed up front (texts are short; tantivy indexes them one at a time).
pub struct VecTokenStream {
    tokens: Vec<Token>,
    next: usize,
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }
    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

fn token(text: String, position: usize, from: usize, to: usize) -> Token {
    Token {
        offset_from: from,
        offset_to: to,
        position,
        text,
        position_length: 1,
    }
}

/// jieba search mode over the normalized text.
#[derive(Clone)]
pub struct JiebaTokenizer {
    jieba: Arc<jieba_rs::Jieba>,
}

impl Default for JiebaTokenizer {
    fn default() -> Self {
        JiebaTokenizer {
            jieba: dangan_text::jieba(),
        }
    }
}

impl JiebaTokenizer {
    pub fn words(&self, text: &str) -> Vec<String> {
        let norm = dangan_text::normalize_for_search(text);
        dangan_text::segment_for_search(&self.jieba, &norm)
            .into_iter()
            .map(|(w, _)| w)
            .collect()
    }
}

/// The analyzers take text already in its search form (`dangan_text::normalize_for_search`):
/// documents are normalized once for both fields, queries by the query builder.
impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, norm: &'a str) -> VecTokenStream {
        let tokens = dangan_text::segment_for_search(&self.jieba, norm)
            .into_iter()
            .enumerate()
            .map(|(i, (w, start))| {
                let end = start + w.len();
                token(w, i, start, end)
            })
            .collect();
        VecTokenStream { tokens, next: 0 }
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
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, norm: &'a str) -> VecTokenStream {
        let tokens = bigrams(norm, false)
            .into_iter()
            .map(|(t, p)| token(t, p, 0, 0))
            .collect();
        VecTokenStream { tokens, next: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(v: Vec<Gram>) -> Vec<String> {
        v.into_iter().map(|(t, _)| t).collect()
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
