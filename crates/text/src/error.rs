//! What can go wrong in the text crate: adapting the analyzer to a lake's texts.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "too few labelled texts to train on: {positive} positive and {negative} negative, at least {needed} of each are needed 标注文本太少，正面和负面各需至少 {needed} 条"
    )]
    TooFewItems {
        positive: usize,
        negative: usize,
        needed: usize,
    },
    #[error("the lake's sentiment model, line {line}: {reason} 情感模型文件有误")]
    BadModel { line: usize, reason: String },
}

pub type Result<T> = std::result::Result<T, Error>;
