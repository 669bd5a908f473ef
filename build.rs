//! Link step of the release binary: identical functions folded into one, relative relocations
//! packed.
//!
//! Generic code is instantiated once per codegen unit that uses it (a derived `Hash` of
//! sqlparser's `Statement`, for one, 76 times). lld's identical code folding keeps one copy of
//! those that came out byte for byte the same — 9.8 MB of the stripped 246 MB; most copies
//! differ by inlining. Rust does not promise distinct addresses for distinct functions, so
//! nothing may rely on them.
//!
//! A position-independent binary carries one 24-byte relocation per pointer in its read-only
//! tables (vtables, string slices): ~370,000 of them, 8.9 MB of `.rela.dyn`. `-z
//! pack-relative-relocs` writes them as RELR bitmaps (a few hundred KB) — which glibc's loader
//! reads from 2.36 on, so only where the C library this binary is linked against is that new
//! (it runs where it was built). Debug builds keep the quicker link.

use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    // rust-lld is the default linker only on x86_64 Linux (GNU ld knows no --icf).
    if std::env::var("PROFILE").as_deref() == Ok("release")
        && std::env::var("TARGET").as_deref() == Ok("x86_64-unknown-linux-gnu")
    {
        println!("cargo::rustc-link-arg-bins=-Wl,--icf=all");
        if glibc_reads_relr() {
            println!("cargo::rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
        }
    }
}

/// Whether the C library here is glibc 2.36 or later (`getconf GNU_LIBC_VERSION`: "glibc 2.36");
/// anything else, or no answer, is no.
fn glibc_reads_relr() -> bool {
    let Ok(out) = Command::new("getconf").arg("GNU_LIBC_VERSION").output() else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(version) = text.trim().strip_prefix("glibc ") else {
        return false;
    };
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (2, 36)
}
