//! Full-text search over the lake: a tantivy index under `<lake>/index/`, built from the dataset
//! specs (every `text = true` column, and member names with their pinyin), kept in step with the
//! tables' versions, queried in the organizers' query language with filters, facets and
//! snippets.

mod cache;
mod error;
mod facets;
mod index;
mod names;
mod plan;
pub mod query;
#[cfg(test)]
mod recall;
mod request;
mod schema;
pub mod snippet;
mod sources;
mod sync;
pub mod tokenizer;
mod top_k;
mod uid;
mod vouched;

pub use error::{Error, Result};
pub use index::SearchIndex;
pub use request::{
    DatasetStatus, DatasetSync, Facets, Hit, ResolvedScope, Scopes, SearchRequest, SearchResult,
    SyncReport, Warmed,
};
pub use sources::{Source, sources};
