//! Full-text search over the lake: a tantivy index under `<lake>/index/`, built from the dataset
//! specs (every `text = true` column, and member names with their pinyin), kept in step with the
//! tables' versions, queried in the organizers' query language with filters, facets and
//! snippets.

mod error;
mod facets;
mod index;
mod names;
pub mod query;
#[cfg(test)]
mod recall;
mod request;
mod schema;
pub mod snippet;
mod sources;
pub mod tokenizer;

pub use error::{Error, Result};
pub use index::{
    DatasetStatus, DatasetSync, Facets, Hit, SearchIndex, SearchRequest, SearchResult, SyncReport,
};
pub use request::{ResolvedScope, Scopes};
pub use sources::{Source, sources};
