//! TSIG (RFC 8945): keys shared with secondaries, and the MACs that sign
//! and verify messages with them.
//!
//! Requests are verified on muster's own wire bytes ([`verify_request`]);
//! a verified request yields a [`Signer`] that signs the answer, or every
//! message of a transfer, each MAC chaining the previous one (§5.3.1).
//! The client side ([`sign_request`], [`verify_response`]) signs NOTIFY
//! and checks the secondary's answer; tests use it to check transfers.
//! Secrets never leave [`TsigSecret`]: its `Debug` prints no byte of them.

use std::sync::Arc;

use crate::wire::name_to_wire;
use hickory_proto::rr::Name;

mod mac;
pub mod record;

use record::{TsigFields, display_name, time_bytes};
pub use record::{TsigRecord, WireName};

/// The clock difference allowed by what muster signs, in seconds (RFC 8945 §10: 300).
pub const FUDGE: u16 = 300;

/// A TSIG MAC algorithm muster supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TsigAlgorithm {
    /// HMAC-SHA256 (`hmac-sha256`).
    HmacSha256,
    /// HMAC-SHA512 (`hmac-sha512`).
    HmacSha512,
}

impl TsigAlgorithm {
    /// Every algorithm, in the order their names are offered in messages.
    pub const ALL: [Self; 2] = [Self::HmacSha256, Self::HmacSha512];

    /// The name used in configuration files and in TSIG records.
    pub fn name(self) -> &'static str {
        match self {
            Self::HmacSha256 => "hmac-sha256",
            Self::HmacSha512 => "hmac-sha512",
        }
    }

    /// The algorithm named `text` (case-insensitive).
    pub fn from_name(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(text.trim().trim_end_matches('.')))
    }

    /// The algorithm's name in wire form.
    pub fn wire_name(self) -> &'static [u8] {
        match self {
            Self::HmacSha256 => b"\x0bhmac-sha256\x00",
            Self::HmacSha512 => b"\x0bhmac-sha512\x00",
        }
    }

    /// The MAC's length in bytes.
    pub fn mac_len(self) -> usize {
        match self {
            Self::HmacSha256 => 32,
            Self::HmacSha512 => 64,
        }
    }

    fn from_wire(wire: &[u8]) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.wire_name() == wire)
    }
}

/// A TSIG secret. `Debug` shows its length only.
#[derive(Clone, PartialEq, Eq)]
pub struct TsigSecret(Vec<u8>);

impl TsigSecret {
    /// A secret from its bytes (decoded from base64 by whoever read it).
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl std::fmt::Debug for TsigSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TsigSecret(<{} bytes, redacted>)", self.0.len())
    }
}

/// A named key shared with a secondary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TsigKey {
    name: Name,
    name_wire: Box<[u8]>,
    algorithm: TsigAlgorithm,
    secret: TsigSecret,
}

impl TsigKey {
    /// A key named `name` (absolute; compared without regard to case).
    pub fn new(name: &Name, algorithm: TsigAlgorithm, secret: TsigSecret) -> Self {
        let name = name.to_lowercase();
        Self {
            name_wire: name_to_wire(&name).into_boxed_slice(),
            name,
            algorithm,
            secret,
        }
    }

    /// The key's name, lowercase.
    pub fn name(&self) -> &Name {
        &self.name
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> TsigAlgorithm {
        self.algorithm
    }

    /// The key's name in lowercase wire form.
    pub fn name_wire(&self) -> &[u8] {
        &self.name_wire
    }

    /// The bytes a signed TSIG record with this key adds to a message.
    pub fn signature_len(&self) -> usize {
        record::record_len(
            &self.name_wire,
            self.algorithm.wire_name(),
            self.algorithm.mac_len(),
            6,
        )
    }
}

/// The TSIG errors (RFC 8945 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TsigError {
    /// The MAC did not verify (16).
    BadSig,
    /// The key is not known (17).
    BadKey,
    /// The time signed is outside the fudge (18).
    BadTime,
}

impl TsigError {
    /// The error's code in a TSIG record.
    pub fn code(self) -> u16 {
        match self {
            Self::BadSig => 16,
            Self::BadKey => 17,
            Self::BadTime => 18,
        }
    }

    /// The error's mnemonic.
    pub fn mnemonic(self) -> &'static str {
        match self {
            Self::BadSig => "BADSIG",
            Self::BadKey => "BADKEY",
            Self::BadTime => "BADTIME",
        }
    }
}

impl std::fmt::Display for TsigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.mnemonic())
    }
}

/// A request whose TSIG verified: signs what answers it.
#[derive(Clone, Debug)]
pub struct Signer {
    key: Arc<TsigKey>,
    /// The MAC of the last message signed or verified: the request's, then
    /// each transfer message's in turn.
    prior_mac: Vec<u8>,
    /// The request's time signed (echoed in a BADTIME answer).
    request_time: u64,
}

impl Signer {
    /// The key the request was signed with.
    pub fn key(&self) -> &Arc<TsigKey> {
        &self.key
    }

    /// Signs the one answer to the request (its MAC covers the request's).
    pub fn sign(&self, message: &mut Vec<u8>, now: u64) {
        let _ = sign_with(&self.key, Some(&self.prior_mac), message, now, true);
    }

    /// Signs every message of a transfer: the first with the request's MAC
    /// and all the TSIG variables, each next with the MAC before it and the
    /// timers only (RFC 8945 §5.3.1).
    pub fn sign_all(&self, messages: &mut [Vec<u8>], now: u64) {
        let mut prior = self.prior_mac.clone();
        for (i, message) in messages.iter_mut().enumerate() {
            prior = sign_with(&self.key, Some(&prior), message, now, i == 0);
        }
    }

    /// Signs a BADTIME answer: the request's time signed, ours in other data (§5.2.3).
    fn sign_bad_time(&self, message: &mut Vec<u8>, now: u64) {
        let fields = TsigFields {
            time_signed: self.request_time,
            fudge: FUDGE,
            mac: &[],
            original_id: message_id(message),
            error: TsigError::BadTime.code(),
            other: &time_bytes(now),
        };
        let mac = self
            .key
            .mac_of(Some(&self.prior_mac), message, None, &fields, true);
        record::append(
            message,
            &self.key.name_wire,
            self.key.algorithm.wire_name(),
            &TsigFields { mac: &mac, ..fields },
        );
    }
}

/// Why a signed request is answered NOTAUTH.
#[derive(Debug)]
pub struct Rejected {
    /// The TSIG error.
    pub error: TsigError,
    /// The key named by the request, in presentation form.
    pub key_name: String,
    signer: Option<Signer>,
}

/// Verifies the TSIG of the request `packet` against the key `find_key`
/// gives for its name at `now` (seconds since the epoch): the MAC first,
/// then the time (RFC 8945 §5.2).
pub fn verify_request<'k>(
    packet: &[u8],
    tsig: &TsigRecord<'_>,
    find_key: impl FnOnce(&[u8]) -> Option<&'k Arc<TsigKey>>,
    now: u64,
) -> Result<Signer, Rejected> {
    let reject = |error, signer| Rejected {
        error,
        key_name: display_name(tsig.key_name.as_bytes()),
        signer,
    };
    let algorithm = TsigAlgorithm::from_wire(tsig.algorithm.as_bytes());
    let Some(key) = find_key(tsig.key_name.as_bytes()).filter(|k| Some(k.algorithm) == algorithm) else {
        return Err(reject(TsigError::BadKey, None));
    };
    if !key.verify(None, packet, tsig, true) {
        return Err(reject(TsigError::BadSig, None));
    }
    let signer = Signer {
        key: Arc::clone(key),
        prior_mac: tsig.mac.to_vec(),
        request_time: tsig.time_signed,
    };
    if now.abs_diff(tsig.time_signed) > u64::from(tsig.fudge) {
        return Err(reject(TsigError::BadTime, Some(signer)));
    }
    Ok(signer)
}

/// Adds the TSIG record of a NOTAUTH answer to `message`: signed for
/// BADTIME, unsigned (no MAC) for BADKEY and BADSIG (RFC 8945 §5.2).
pub fn append_rejection(message: &mut Vec<u8>, rejected: &Rejected, tsig: &TsigRecord<'_>, now: u64) {
    if let Some(signer) = &rejected.signer {
        signer.sign_bad_time(message, now);
        return;
    }
    let fields = TsigFields {
        time_signed: now,
        fudge: tsig.fudge,
        mac: &[],
        original_id: message_id(message),
        error: rejected.error.code(),
        other: &[],
    };
    record::append(
        message,
        tsig.key_name.as_bytes(),
        tsig.algorithm.as_bytes(),
        &fields,
    );
}

/// The bytes a TSIG answer to `tsig` may add (for the size limit).
pub fn rejection_len(tsig: &TsigRecord<'_>) -> usize {
    record::record_len(tsig.key_name.as_bytes(), tsig.algorithm.as_bytes(), 64, 6)
}

/// Signs a request (a NOTIFY, or a query in a test) with `key`; returns
/// its MAC, which the answer's MAC covers.
pub fn sign_request(key: &TsigKey, message: &mut Vec<u8>, now: u64) -> Vec<u8> {
    sign_with(key, None, message, now, true)
}

/// Verifies the TSIG of `message`, an answer to a request whose MAC was
/// `prior_mac` (or the message before it in a transfer, `first` false);
/// returns its MAC for the next message. Unsigned answers are `None`.
pub fn verify_response(key: &TsigKey, prior_mac: &[u8], message: &[u8], first: bool) -> Option<Vec<u8>> {
    let tsig = TsigRecord::find(message).ok()??;
    let same_key = tsig.key_name.as_bytes() == key.name_wire()
        && TsigAlgorithm::from_wire(tsig.algorithm.as_bytes()) == Some(key.algorithm);
    (same_key && key.verify(Some(prior_mac), message, &tsig, first)).then(|| tsig.mac.to_vec())
}

/// Signs `message` and returns the MAC.
fn sign_with(
    key: &TsigKey,
    prior: Option<&[u8]>,
    message: &mut Vec<u8>,
    now: u64,
    all_variables: bool,
) -> Vec<u8> {
    let fields = TsigFields {
        time_signed: now,
        fudge: FUDGE,
        mac: &[],
        original_id: message_id(message),
        error: 0,
        other: &[],
    };
    let mac = key.mac_of(prior, message, None, &fields, all_variables);
    record::append(
        message,
        &key.name_wire,
        key.algorithm.wire_name(),
        &TsigFields { mac: &mac, ..fields },
    );
    mac
}

fn message_id(message: &[u8]) -> u16 {
    u16::from_be_bytes([
        message.first().copied().unwrap_or(0),
        message.get(1).copied().unwrap_or(0),
    ])
}

/// Seconds since the epoch, now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
