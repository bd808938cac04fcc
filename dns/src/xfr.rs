//! Zone transfers out: AXFR (RFC 5936) and IXFR (RFC 1995), as a list of
//! messages for the TCP transport to send.

use hickory_proto::rr::Name;

use crate::answer::{write_error, write_head, write_opt};
use crate::snapshot::Snapshot;
use crate::wire::{HEADER_LEN, Request, Writer, flags, name_to_wire, rcode, rtype};
use crate::zone::{RecordData, SoaFields, ZoneDiff, serial};

/// Messages are closed once they pass this size, well under the 64 KiB a
/// TCP message may carry, so big zones span several messages.
const MESSAGE_TARGET: usize = 16 * 1024;

/// One record in a transfer.
enum Item<'z> {
    Soa(u32, &'z SoaFields),
    Record(&'z Name, u32, &'z RecordData),
}

/// The messages that answer an AXFR or IXFR query over TCP.
pub fn transfer_messages(snapshot: &Snapshot, req: &Request<'_>) -> Vec<Vec<u8>> {
    let zone = snapshot.zone();
    let current = Item::Soa(zone.serial(), zone.soa());
    let mut items = vec![current];
    if req.qtype == rtype::IXFR {
        let client = req.ixfr_serial.unwrap_or(0);
        if client == zone.serial() || serial::is_newer(client, zone.serial()) {
            return pack(snapshot, req, items);
        }
        if let Some(chain) = diff_chain(snapshot, client) {
            for diff in chain {
                items.push(Item::Soa(diff.from_serial, &diff.from_soa));
                items.extend(diff.removed.iter().map(|(n, t, d)| Item::Record(n, *t, d)));
                items.push(Item::Soa(diff.to_serial, &diff.to_soa));
                items.extend(diff.added.iter().map(|(n, t, d)| Item::Record(n, *t, d)));
            }
            items.push(Item::Soa(zone.serial(), zone.soa()));
            return pack(snapshot, req, items);
        }
        // Too old for our history: a full zone in AXFR form (RFC 1995 §4).
    }
    items.extend(zone.records().map(|(n, t, d)| Item::Record(n, t, d)));
    items.push(Item::Soa(zone.serial(), zone.soa()));
    pack(snapshot, req, items)
}

/// The answer to an IXFR query over UDP from an allowed peer: our SOA alone,
/// which tells the client to come back over TCP (RFC 1995 §2).
pub fn ixfr_over_udp(snapshot: &Snapshot, req: &Request<'_>, out: &mut Vec<u8>) {
    let zone = snapshot.zone();
    let mut head = Vec::new();
    write_head(&mut head, req, flags::AA, rcode::NOERROR, [1, 0, 0]);
    let mut w = Writer::after_question(head, req.qname_lower.as_bytes());
    w.soa(
        &name_to_wire(zone.origin()),
        zone.serial(),
        zone.soa(),
        zone.soa().ttl,
    );
    *out = w.into_bytes();
    write_opt(out, req, 0);
}

/// The refusal sent to peers not allowed to transfer.
pub fn refuse(req: &Request<'_>, out: &mut Vec<u8>) {
    write_error(out, req, rcode::REFUSED, 0);
}

/// The diffs from `client` up to the snapshot's serial, if the history holds
/// an unbroken chain.
fn diff_chain(snapshot: &Snapshot, client: u32) -> Option<&[std::sync::Arc<ZoneDiff>]> {
    let history = snapshot.history();
    let start = history.iter().position(|d| d.from_serial == client)?;
    let chain = &history[start..];
    let linked = chain.windows(2).all(|w| w[0].to_serial == w[1].from_serial);
    let reaches = chain.last().is_some_and(|d| d.to_serial == snapshot.serial());
    (linked && reaches).then_some(chain)
}

fn pack(snapshot: &Snapshot, req: &Request<'_>, items: Vec<Item<'_>>) -> Vec<Vec<u8>> {
    let origin = name_to_wire(snapshot.zone().origin());
    let mut messages = Vec::new();
    let mut items = items.into_iter().peekable();
    let mut first = true;
    while items.peek().is_some() {
        let mut head = Vec::new();
        write_head(&mut head, req, flags::AA, rcode::NOERROR, [0, 0, 0]);
        let mut w = if first {
            Writer::after_question(head, req.qname_lower.as_bytes())
        } else {
            // Later messages leave the question out (RFC 5936 §2.2.1).
            head.truncate(HEADER_LEN);
            let mut w = Writer::after_question(head, &[]);
            w.patch_u16(4, 0);
            w
        };
        let mut count = 0u16;
        while w.len() < MESSAGE_TARGET && count < u16::MAX {
            let Some(item) = items.next() else { break };
            match item {
                Item::Soa(serial, soa) => w.soa(&origin, serial, soa, soa.ttl),
                Item::Record(owner, ttl, data) => w.record(&name_to_wire(owner), ttl, data),
            }
            count += 1;
        }
        w.patch_u16(6, count);
        let mut bytes = w.into_bytes();
        write_opt(&mut bytes, req, 0);
        messages.push(bytes);
        first = false;
    }
    messages
}
