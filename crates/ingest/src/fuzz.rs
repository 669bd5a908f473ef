//! Property tests: random bytes to every reader and random cells to every column type give
//! errors or values, never a panic.

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::reader::{RawCell, ReadOptions, read_sheets, supported_extensions};
use crate::value::convert;

fn random_bytes(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let n = rng.random_range(0..2048);
    let mut v: Vec<u8> = (0..n).map(|_| rng.random()).collect();
    // Half the time, start like a real file so that the parsers get further in.
    if rng.random_bool(0.5) {
        let prefix: &[u8] = match rng.random_range(0..4) {
            0 => b"PK\x03\x04",
            1 => &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1],
            2 => b"PAR1",
            _ => "姓名,党员编号\n".as_bytes(),
        };
        let mut p = prefix.to_vec();
        p.extend(v);
        v = p;
    }
    v
}

#[test]
fn readers_never_panic_on_random_bytes() {
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    for ext in supported_extensions() {
        let path = format!("random.{ext}");
        for _ in 0..300 {
            let bytes = random_bytes(&mut rng);
            let _ = read_sheets(Path::new(&path), &bytes, &ReadOptions::default());
        }
    }
}

fn random_text(rng: &mut ChaCha8Rng) -> String {
    const PIECES: &[&str] = &[
        "2021",
        "年",
        "7",
        "月",
        "1",
        "日",
        "-",
        "/",
        ".",
        ":",
        " ",
        "　",
        "１",
        "Ｘ",
        "x",
        "X",
        "0",
        "9",
        "+86",
        "合格",
        "男",
        "e",
        "E",
        "NaN",
        "inf",
        "99999999999999999999",
        "-",
        ",",
        "，",
        "张伟",
        "T",
        "\u{0}",
        "\u{FEFF}",
        "%",
        "¥",
        "",
    ];
    (0..rng.random_range(0..8))
        .map(|_| PIECES[rng.random_range(0..PIECES.len())])
        .collect()
}

#[test]
fn converters_never_panic_on_random_cells() {
    let reg = dangan_datasets::Registry::builtin().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for spec in reg.iter() {
        for col in &spec.columns {
            for _ in 0..400 {
                let cell = match rng.random_range(0..4) {
                    0 => RawCell::Text(random_text(&mut rng)),
                    1 => RawCell::Number(f64::from_bits(rng.random())),
                    2 => RawCell::DateTime(rng.random_range(-1e7..1e7)),
                    _ => RawCell::Bool(rng.random()),
                };
                let _ = convert(col, cell.as_ref());
                let _ = cell.display();
            }
        }
    }
}
