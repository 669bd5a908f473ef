//! End-to-end tests: the real `dangan` binary on committed fixtures and generated archives.
//! One test binary with modules (every test binary links the whole stack).

mod cluster;
mod demo;
mod encryption;
mod external;
mod import;
mod kill;
mod mysql;
mod pipeline;
mod real_files;
mod report;
mod search;
mod security;
mod serve;
mod slt;
mod sql;
mod storage;
mod support;
mod text;
mod upsert;
