//! Link step of the release binary: identical functions folded into one.
//!
//! Generic code is instantiated once per codegen unit that uses it (a derived `Hash` of
//! sqlparser's `Statement`, for one, 76 times), so the unfolded binary carried the same machine
//! code many times over. lld's identical code folding keeps one copy; Rust does not promise
//! distinct addresses for distinct functions, so nothing may rely on them. Debug builds keep
//! the quicker link.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    if std::env::var("PROFILE").as_deref() == Ok("release") {
        println!("cargo::rustc-link-arg-bins=-Wl,--icf=all");
    }
}
