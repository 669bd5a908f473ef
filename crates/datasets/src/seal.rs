//! Personal values sealed at rest: AES-256-GCM per value (a fresh 96-bit nonce each time) and
//! a keyed hash (HMAC-SHA256) beside each personal column for exact look-ups and joins, both
//! from one 32-byte key kept outside the lake (a file, an environment variable, or a command
//! that prints it — a KMS). `lake.toml` names the key by id and says where to find it:
//!
//! ```toml
//! [encryption]
//! key_id = "5c0f3e9a"
//! key_file = "/etc/dangan/lake.key"
//! ```
//!
//! A sealed value is text: `dg1.<key id>.<base64 of nonce ‖ ciphertext ‖ tag>`, so it goes
//! through every Delta path (merge, change data feed, optimize) and any engine reads it as a
//! string — the ciphertext, never the value. The key id (a keyed hash of the key itself)
//! names which key sealed a value, so a key rotation that stopped halfway still reads.
//! Nothing else derived from a value is stored: the look-up hash is keyed.

use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, StringArray, StringBuilder};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use base64::Engine as _;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What every sealed value starts with.
pub const PREFIX: &str = "dg1.";

/// The look-up column of a sealed personal column.
pub fn lookup_column(column: &str) -> String {
    format!("{column}_hmac")
}

/// Where a key comes from: exactly one of a file, an environment variable or a command.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySource {
    /// The key's id (`dangan lake encrypt` writes it): a key that is not this one is refused.
    pub key_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_env: Option<String>,
    /// A command (run by `sh -c`) whose output is the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_command: Option<String>,
}

/// `lake.toml`'s `[encryption]`: the key values are sealed with, and while a rotation is under
/// way the keys values may still be sealed with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptionConfig {
    #[serde(flatten)]
    pub key: KeySource,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous: Vec<KeySource>,
}

impl KeySource {
    /// Where the key is, for messages.
    pub fn describe(&self) -> String {
        match (&self.key_file, &self.key_env, &self.key_command) {
            (Some(f), _, _) => format!("key file {}", f.display()),
            (_, Some(v), _) => format!("environment variable {v}"),
            (_, _, Some(c)) => format!("key command `{c}`"),
            _ => "no key source".into(),
        }
    }

    /// Read the key and check that it is the one named.
    pub fn load(&self) -> Result<Key> {
        let bytes = self.read()?;
        let key = Key::from_text(&bytes, &self.describe())?;
        if !self.key_id.is_empty() && key.id != self.key_id {
            return Err(Error::Key(format!(
                "{} holds key {}, but the lake's values are sealed with key {} \
                 密钥不匹配",
                self.describe(),
                key.id,
                self.key_id
            )));
        }
        Ok(key)
    }

    fn read(&self) -> Result<String> {
        let unavailable =
            |why: String| Error::Key(format!("{}: {why} 找不到密钥", self.describe()));
        match (&self.key_file, &self.key_env, &self.key_command) {
            (Some(f), None, None) => {
                std::fs::read_to_string(f).map_err(|e| unavailable(e.to_string()))
            }
            (None, Some(v), None) => std::env::var(v).map_err(|e| unavailable(e.to_string())),
            (None, None, Some(c)) => {
                let out = std::process::Command::new("sh")
                    .arg("-c")
                    .arg(c)
                    .stdin(std::process::Stdio::null())
                    .output()
                    .map_err(|e| unavailable(e.to_string()))?;
                if !out.status.success() {
                    return Err(unavailable(format!(
                        "the command ended with {}",
                        out.status
                    )));
                }
                String::from_utf8(out.stdout).map_err(|_| unavailable("output is not text".into()))
            }
            _ => Err(Error::Key(
                "[encryption] needs exactly one of key_file, key_env, key_command".into(),
            )),
        }
    }
}

/// One key: the cipher and the look-up hash, derived from it apart.
pub struct Key {
    pub id: String,
    cipher: LessSafeKey,
    lookup: hmac::Key,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({})", self.id)
    }
}

impl Key {
    /// A key written as 64 hex digits or as base64 of 32 bytes (whitespace around it ignored).
    pub fn from_text(text: &str, source: &str) -> Result<Key> {
        let t = text.trim();
        let bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(t).ok()
        } else {
            base64::engine::general_purpose::STANDARD.decode(t).ok()
        };
        match bytes {
            Some(b) if b.len() == 32 => Ok(Key::from_bytes(&b)),
            _ => Err(Error::Key(format!(
                "{source}: expected a 32-byte key as 64 hex digits or base64 \
                 (`dangan lake new-key FILE` writes one) 密钥格式不对"
            ))),
        }
    }

    fn from_bytes(master: &[u8]) -> Key {
        let root = hmac::Key::new(hmac::HMAC_SHA256, master);
        let derive = |label: &str| hmac::sign(&root, label.as_bytes());
        let cipher = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, derive("dangan aes-256-gcm v1").as_ref())
                .expect("32 bytes is an AES-256 key"),
        );
        let lookup = hmac::Key::new(hmac::HMAC_SHA256, derive("dangan look-up hmac v1").as_ref());
        // 32 bits tell a lake's few keys apart; every sealed value carries them.
        let id = hex::encode(&derive("dangan key id v1").as_ref()[..4]);
        Key { id, cipher, lookup }
    }

    /// A new random key as 64 hex digits.
    pub fn generate() -> Result<String> {
        let mut b = [0u8; 32];
        SystemRandom::new()
            .fill(&mut b)
            .map_err(|_| Error::Key("the system's random source failed".into()))?;
        Ok(hex::encode(b))
    }
}

/// The keys of a lake: the one that seals, and those that may still open older values.
#[derive(Debug, Clone)]
pub struct Keyring {
    current: Arc<Key>,
    older: Vec<Arc<Key>>,
    random: SystemRandom,
}

impl Keyring {
    pub fn new(current: Key, older: Vec<Key>) -> Keyring {
        Keyring {
            current: Arc::new(current),
            older: older.into_iter().map(Arc::new).collect(),
            random: SystemRandom::new(),
        }
    }

    /// Load the keys `config` names (the previous ones that cannot be found are left out: the
    /// values still sealed with them say so when read).
    pub fn load(config: &EncryptionConfig) -> Result<Keyring> {
        let current = config.key.load()?;
        let older = config
            .previous
            .iter()
            .filter_map(|k| k.load().ok())
            .collect();
        Ok(Keyring::new(current, older))
    }

    pub fn id(&self) -> &str {
        &self.current.id
    }

    /// Seal `plain` with the current key.
    pub fn seal(&self, plain: &str) -> Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .map_err(|_| Error::Key("the system's random source failed".into()))?;
        let mut buf = plain.as_bytes().to_vec();
        self.current
            .cipher
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut buf)
            .map_err(|_| Error::Key("sealing a value failed".into()))?;
        let mut all = Vec::with_capacity(NONCE_LEN + buf.len());
        all.extend_from_slice(&nonce);
        all.extend_from_slice(&buf);
        Ok(format!(
            "{PREFIX}{}.{}",
            self.current.id,
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(all)
        ))
    }

    /// The value of `stored`: opened when sealed, as it is otherwise (written before the lake
    /// was encrypted). A value sealed with a key not in the ring is an error naming the key.
    pub fn open(&self, stored: &str) -> Result<String> {
        let mut buf = Vec::new();
        self.open_into(stored, &mut buf).map(str::to_string)
    }

    /// [`Keyring::open`] into `buf` (reused from value to value: no allocation per value).
    pub fn open_into<'a>(&self, stored: &'a str, buf: &'a mut Vec<u8>) -> Result<&'a str> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Ok(stored);
        };
        let Some((id, body)) = rest.split_once('.') else {
            return Ok(stored);
        };
        let key = if self.current.id == id {
            &self.current
        } else {
            self.older.iter().find(|k| k.id == id).ok_or_else(|| {
                Error::Key(format!(
                    "a value is sealed with key {id}, which this lake's [encryption] does not \
                     name (keep the old key under `previous` until `dangan lake rotate-key` \
                     has finished)"
                ))
            })?
        };
        buf.clear();
        base64::engine::general_purpose::STANDARD_NO_PAD
            .decode_vec(body, buf)
            .map_err(|_| Error::Key("a sealed value is damaged (not base64)".into()))?;
        if buf.len() < NONCE_LEN {
            return Err(Error::Key("a sealed value is damaged (too short)".into()));
        }
        let (nonce, sealed) = buf.split_at_mut(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| Error::Key("a sealed value is damaged (nonce)".into()))?;
        let plain = key
            .cipher
            .open_in_place(nonce, Aad::empty(), sealed)
            .map_err(|_| {
                Error::Key(format!(
                    "a value sealed with key {id} does not open: damaged or altered"
                ))
            })?;
        std::str::from_utf8(plain).map_err(|_| Error::Key("a sealed value is not text".into()))
    }

    /// The keyed hash of `plain` (the first 128 bits of HMAC-SHA256, hex), for exact look-ups
    /// without opening anything. (A look-up's rows are checked again on the opened values, so
    /// even a collision could not give a wrong answer.)
    pub fn lookup(&self, plain: &str) -> String {
        hex::encode(&hmac::sign(&self.current.lookup, plain.as_bytes()).as_ref()[..16])
    }

    /// Whether `stored` is sealed with the current key.
    pub fn sealed_with_current(&self, stored: &str) -> bool {
        stored
            .strip_prefix(PREFIX)
            .and_then(|r| r.split_once('.'))
            .is_some_and(|(id, _)| id == self.current.id)
    }
}

/// Whether `stored` is a sealed value.
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

/// A column of a table whose values are sealed in an encrypted lake, with the type it has
/// when opened and whether a look-up column (`<name>_hmac`) stands beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedColumn {
    pub name: String,
    pub plain: DataType,
    pub lookup: bool,
}

/// Whether column `name` of stored rows tells whether a row changed: not a sealed column with
/// a look-up column beside it (its text differs each time it is sealed; the hash does not).
pub fn compared(schema: &Schema, name: &str) -> bool {
    schema.field_with_name(&lookup_column(name)).is_err()
}

/// The schema a table is stored with: the sealed columns as text, their look-up columns after
/// every other column.
pub fn storage_schema(schema: &SchemaRef, sealed: &[SealedColumn]) -> SchemaRef {
    if sealed.is_empty() {
        return schema.clone();
    }
    let mut fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            if sealed.iter().any(|s| &s.name == f.name()) {
                Field::new(f.name(), DataType::Utf8, true)
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    for s in sealed.iter().filter(|s| s.lookup) {
        if schema.field_with_name(&s.name).is_ok() {
            fields.push(Field::new(lookup_column(&s.name), DataType::Utf8, true));
        }
    }
    Arc::new(Schema::new(fields))
}

/// `batch` (the table's plain columns) as it is stored: every sealed column's values sealed
/// one by one, its look-up hashes added after the other columns.
pub fn seal_batch(
    batch: &RecordBatch,
    sealed: &[SealedColumn],
    keys: &Keyring,
) -> Result<RecordBatch> {
    if sealed.is_empty() {
        return Ok(batch.clone());
    }
    let schema = batch.schema();
    let target = storage_schema(&schema, sealed);
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(target.fields().len());
    let mut lookups: Vec<ArrayRef> = Vec::new();
    for (f, col) in schema.fields().iter().zip(batch.columns()) {
        let Some(s) = sealed.iter().find(|s| &s.name == f.name()) else {
            columns.push(col.clone());
            continue;
        };
        let text = cast(col, &DataType::Utf8)?;
        let text = text
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| Error::Invalid(format!("column `{}` is not text", f.name())))?;
        let mut out = StringBuilder::with_capacity(text.len(), text.len() * 48);
        let mut hashes = StringBuilder::with_capacity(text.len(), text.len() * 64);
        for v in text.iter() {
            match v {
                Some(v) => {
                    out.append_value(keys.seal(v)?);
                    hashes.append_value(keys.lookup(v));
                }
                None => {
                    out.append_null();
                    hashes.append_null();
                }
            }
        }
        columns.push(Arc::new(out.finish()));
        if s.lookup {
            lookups.push(Arc::new(hashes.finish()));
        }
    }
    columns.extend(lookups);
    Ok(RecordBatch::try_new(target, columns)?)
}

/// `batch` with the sealed columns' values redacted (`redact`), marked as such: what an
/// internal table keeps of a value when the key to seal it is missing.
pub fn redact_batch(batch: &RecordBatch, sealed: &[SealedColumn]) -> Result<RecordBatch> {
    let mut columns = batch.columns().to_vec();
    for (i, f) in batch.schema().fields().iter().enumerate() {
        if !sealed.iter().any(|s| &s.name == f.name()) {
            continue;
        }
        let text = cast(&columns[i], &DataType::Utf8)?;
        let text = text
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| Error::Invalid(format!("column `{}` is not text", f.name())))?;
        let out: StringArray = text
            .iter()
            .map(|v| v.map(|v| format!("(redacted: the lake's key is missing) {}", redact(v))))
            .collect();
        columns[i] = Arc::new(out);
    }
    Ok(RecordBatch::try_new(batch.schema(), columns)?)
}

/// A stored column of sealed values opened: text cast back to `plain`. Without keys (`None`)
/// the sealed values read as empty and values stored before encryption as they are.
pub fn open_column(col: &ArrayRef, plain: &DataType, keys: Option<&Keyring>) -> Result<ArrayRef> {
    let text = cast(col, &DataType::Utf8)?;
    let text = text
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| Error::Invalid("a sealed column is not text".into()))?;
    let mut out = StringBuilder::with_capacity(text.len(), text.len() * 20);
    let mut buf = Vec::with_capacity(64);
    for v in text.iter() {
        match (v, keys) {
            (None, _) => out.append_null(),
            (Some(v), Some(k)) => out.append_value(k.open_into(v, &mut buf)?),
            (Some(v), None) if is_sealed(v) => out.append_null(),
            (Some(v), None) => out.append_value(v),
        }
    }
    let opened: ArrayRef = Arc::new(out.finish());
    Ok(if plain == &DataType::Utf8 {
        opened
    } else {
        cast(&opened, plain)?
    })
}

/// `batch` as read from storage with its sealed columns opened and look-up columns left out.
pub fn open_batch(
    batch: &RecordBatch,
    sealed: &[SealedColumn],
    keys: Option<&Keyring>,
) -> Result<RecordBatch> {
    if sealed.is_empty() {
        return Ok(batch.clone());
    }
    let schema = batch.schema();
    let lookups: Vec<String> = sealed.iter().map(|s| lookup_column(&s.name)).collect();
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (f, col) in schema.fields().iter().zip(batch.columns()) {
        if lookups.contains(f.name()) {
            continue;
        }
        match sealed.iter().find(|s| &s.name == f.name()) {
            // (A column still of its plain type was stored before the lake was encrypted.)
            Some(s)
                if matches!(
                    f.data_type(),
                    DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
                ) =>
            {
                columns.push(open_column(col, &s.plain, keys)?);
                fields.push(Field::new(f.name(), s.plain.clone(), true));
            }
            _ => {
                columns.push(col.clone());
                fields.push(f.as_ref().clone());
            }
        }
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// A message with what is quoted in it (a value of a row, between quotes) and long runs of
/// digits left out: an error a department sees from running its statement, and a copy of a
/// value an encrypted lake cannot seal because its key is missing. Within the scope those values
/// were the department's to see, masked where the grant says; this keeps any path that
/// evaluates a condition on a row it may not see from quoting the row.
pub fn redact(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quote: Option<char> = None;
    let mut digits = String::new();
    let flush = |out: &mut String, digits: &mut String| {
        if digits.len() >= 6 {
            out.push('…');
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in message.chars() {
        match quote {
            Some(q) if c == q => {
                out.push('…');
                out.push(c);
                quote = None;
            }
            Some(_) => {}
            None if c == '\'' || c == '"' => {
                flush(&mut out, &mut digits);
                out.push(c);
                quote = Some(c);
            }
            None if c.is_ascii_digit() => digits.push(c),
            None => {
                flush(&mut out, &mut digits);
                out.push(c);
            }
        }
    }
    if quote.is_some() {
        out.push('…');
    }
    flush(&mut out, &mut digits);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(seed: u8) -> Keyring {
        Keyring::new(Key::from_bytes(&[seed; 32]), vec![])
    }

    #[test]
    fn sealed_values_open_and_never_repeat() {
        let k = ring(1);
        let a = k.seal("11010519491231002X").unwrap();
        let b = k.seal("11010519491231002X").unwrap();
        assert_ne!(a, b, "a fresh nonce per value");
        assert!(!a.contains("110105"));
        assert_eq!(k.open(&a).unwrap(), "11010519491231002X");
        assert_eq!(k.open("plain").unwrap(), "plain");
        assert_eq!(k.lookup("x"), k.lookup("x"));
        assert_ne!(k.lookup("x"), ring(2).lookup("x"));
    }

    #[test]
    fn a_wrong_key_or_an_altered_value_is_an_error() {
        let a = ring(1).seal("13800138000").unwrap();
        let err = ring(2).open(&a).unwrap_err().to_string();
        assert!(err.contains(&ring(1).current.id), "{err}");
        let mut altered = a.clone();
        altered.pop();
        altered.push(if a.ends_with('A') { 'B' } else { 'A' });
        assert!(ring(1).open(&altered).is_err());
        // An older key in the ring still opens.
        let both = Keyring::new(Key::from_bytes(&[2; 32]), vec![Key::from_bytes(&[1; 32])]);
        assert_eq!(both.open(&a).unwrap(), "13800138000");
    }

    #[test]
    fn keys_read_as_hex_or_base64() {
        let hex = Key::generate().unwrap();
        let k = Key::from_text(&format!("{hex}\n"), "t").unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(hex::decode(&hex).unwrap());
        assert_eq!(Key::from_text(&b64, "t").unwrap().id, k.id);
        assert!(Key::from_text("short", "t").is_err());
    }
}
