//! The MAC of a message with a key (RFC 8945 §4.3): the digest
//! components fed in order, HMAC over SHA-256 or SHA-512, and a
//! constant-time comparison.

use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha512};

use super::record::{self, TsigFields, TsigRecord, time_bytes};
use super::{TsigAlgorithm, TsigKey};
use crate::wire::HEADER_LEN;

impl TsigKey {
    fn hmac(&self) -> Hmac2 {
        // HMAC takes a key of any length: new_from_slice cannot fail.
        match self.algorithm {
            TsigAlgorithm::HmacSha256 => Hmac2::Sha256(
                Hmac::<Sha256>::new_from_slice(&self.secret.0).unwrap_or_else(|_| unreachable!()),
            ),
            TsigAlgorithm::HmacSha512 => Hmac2::Sha512(
                Hmac::<Sha512>::new_from_slice(&self.secret.0).unwrap_or_else(|_| unreachable!()),
            ),
        }
    }

    /// Checks a signed message's MAC in constant time.
    pub(super) fn verify(
        &self,
        prior: Option<&[u8]>,
        message: &[u8],
        tsig: &TsigRecord<'_>,
        all_variables: bool,
    ) -> bool {
        if tsig.mac.len() != self.algorithm.mac_len() || message.len() < HEADER_LEN {
            return false;
        }
        // The message as signed: its original ID, without the TSIG record.
        let mut header = [0u8; HEADER_LEN];
        header.copy_from_slice(&message[..HEADER_LEN]);
        header[..2].copy_from_slice(&tsig.original_id.to_be_bytes());
        let arcount = u16::from_be_bytes([header[10], header[11]]).wrapping_sub(1);
        header[10..12].copy_from_slice(&arcount.to_be_bytes());
        let Some(body) = message.get(HEADER_LEN..tsig.start) else {
            return false;
        };
        let fields = TsigFields {
            time_signed: tsig.time_signed,
            fudge: tsig.fudge,
            mac: &[],
            original_id: tsig.original_id,
            error: tsig.error,
            other: tsig.other,
        };
        let mut hmac = self.hmac();
        self.feed(&mut hmac, prior, &header, Some(body), &fields, all_variables);
        hmac.verify(tsig.mac)
    }

    /// The MAC of `message` (or `head` + `body`) followed by the TSIG variables.
    pub(super) fn mac_of(
        &self,
        prior: Option<&[u8]>,
        head: &[u8],
        body: Option<&[u8]>,
        fields: &TsigFields<'_>,
        all_variables: bool,
    ) -> Vec<u8> {
        let mut hmac = self.hmac();
        self.feed(&mut hmac, prior, head, body, fields, all_variables);
        hmac.finalize()
    }

    /// Feeds the digest components (RFC 8945 §4.3): the prior MAC with its
    /// length, the message, then all TSIG variables or the timers only.
    fn feed(
        &self,
        hmac: &mut Hmac2,
        prior: Option<&[u8]>,
        head: &[u8],
        body: Option<&[u8]>,
        fields: &TsigFields<'_>,
        all_variables: bool,
    ) {
        if let Some(prior) = prior {
            hmac.update(&(prior.len() as u16).to_be_bytes());
            hmac.update(prior);
        }
        hmac.update(head);
        if let Some(body) = body {
            hmac.update(body);
        }
        if all_variables {
            hmac.update(&self.name_wire);
            hmac.update(&record::CLASS_ANY.to_be_bytes());
            hmac.update(&0u32.to_be_bytes());
            hmac.update(self.algorithm.wire_name());
        }
        hmac.update(&time_bytes(fields.time_signed));
        hmac.update(&fields.fudge.to_be_bytes());
        if all_variables {
            hmac.update(&fields.error.to_be_bytes());
            hmac.update(&(fields.other.len() as u16).to_be_bytes());
            hmac.update(fields.other);
        }
    }
}

/// HMAC over one of the supported hashes.
enum Hmac2 {
    Sha256(Hmac<Sha256>),
    Sha512(Hmac<Sha512>),
}

impl Hmac2 {
    fn update(&mut self, bytes: &[u8]) {
        match self {
            Self::Sha256(m) => m.update(bytes),
            Self::Sha512(m) => m.update(bytes),
        }
    }

    fn finalize(self) -> Vec<u8> {
        match self {
            Self::Sha256(m) => m.finalize().into_bytes().to_vec(),
            Self::Sha512(m) => m.finalize().into_bytes().to_vec(),
        }
    }

    /// Constant-time comparison with `mac`.
    pub(super) fn verify(self, mac: &[u8]) -> bool {
        match self {
            Self::Sha256(m) => m.verify_slice(mac).is_ok(),
            Self::Sha512(m) => m.verify_slice(mac).is_ok(),
        }
    }
}
