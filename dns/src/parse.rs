//! Record data from presentation format (RFC 1035 §5.1, RFC 3597 §5): what
//! a policy's `records:`, the API and the store write.

use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::rr::Name;

use crate::zone::RecordData;

impl RecordData {
    /// Parses the RDATA `text` of a record of type `rtype` (a mnemonic such
    /// as `MX`, any case, or `TYPEnnn`). Names not ending in a dot are
    /// relative to `origin`; `@` is the origin itself. TXT data that is not
    /// quoted is one string, split into character-strings of 255 bytes;
    /// quoted data is one or more character-strings as written.
    ///
    /// # Errors
    /// What is wrong with the data, for people.
    pub fn from_presentation(rtype: &str, text: &str, origin: &Name) -> Result<Self, String> {
        let text = text.trim();
        let fields: Vec<&str> = text.split_whitespace().collect();
        let upper = rtype.to_ascii_uppercase();
        match upper.as_str() {
            "A" => one(&fields, "an IPv4 address")?
                .parse::<Ipv4Addr>()
                .map(Self::A)
                .map_err(|_| format!("{text:?} is not an IPv4 address")),
            "AAAA" => one(&fields, "an IPv6 address")?
                .parse::<Ipv6Addr>()
                .map(Self::Aaaa)
                .map_err(|_| format!("{text:?} is not an IPv6 address")),
            "NS" => Ok(Self::Ns(name(one(&fields, "a name server's name")?, origin)?)),
            "CNAME" => Ok(Self::Cname(name(one(&fields, "the canonical name")?, origin)?)),
            "PTR" => Ok(Self::Ptr(name(one(&fields, "the name it points to")?, origin)?)),
            "MX" => match fields.as_slice() {
                [preference, exchange] => Ok(Self::Mx {
                    preference: number(preference, "the MX preference")?,
                    exchange: name(exchange, origin)?,
                }),
                _ => Err(format!(
                    "MX data is `PREFERENCE EXCHANGE` (`10 mx1`), not {text:?}"
                )),
            },
            "SRV" => match fields.as_slice() {
                [priority, weight, port, target] => Ok(Self::Srv {
                    priority: number(priority, "the SRV priority")?,
                    weight: number(weight, "the SRV weight")?,
                    port: number(port, "the SRV port")?,
                    target: name(target, origin)?,
                }),
                _ => Err(format!(
                    "SRV data is `PRIORITY WEIGHT PORT TARGET` (`10 5 993 imap`), not {text:?}"
                )),
            },
            "TXT" => txt(text),
            "CAA" => caa(text),
            "TLSA" => match fields.as_slice() {
                [usage, selector, matching, data @ ..] if !data.is_empty() => Ok(Self::Tlsa {
                    usage: number(usage, "the TLSA certificate usage")?,
                    selector: number(selector, "the TLSA selector")?,
                    matching: number(matching, "the TLSA matching type")?,
                    data: hex(&data.concat())?,
                }),
                _ => Err(format!(
                    "TLSA data is `USAGE SELECTOR MATCHING HEX` (`3 1 1 0D6F…`), not {text:?}"
                )),
            },
            "SOA" => Err("the SOA is muster's own: set it under `soa:` in the policy".to_owned()),
            other => match other.strip_prefix("TYPE").map(str::parse::<u16>) {
                Some(Ok(code)) => generic(code, &fields),
                _ => Err(format!(
                    "muster does not know the record type {rtype}; write it as TYPEnnn with `\\# LENGTH HEX` data (RFC 3597)"
                )),
            },
        }
    }
}

fn one<'a>(fields: &[&'a str], what: &str) -> Result<&'a str, String> {
    match fields {
        [one] => Ok(one),
        [] => Err(format!("the data is empty; it should be {what}")),
        _ => Err(format!(
            "the data should be just {what}, not {:?}",
            fields.join(" ")
        )),
    }
}

fn number<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{what} {text:?} is not a number in range"))
}

fn name(text: &str, origin: &Name) -> Result<Name, String> {
    if text == "@" {
        return Ok(origin.clone());
    }
    let parsed = Name::from_ascii(text).map_err(|e| format!("{text:?} is not a domain name: {e}"))?;
    if parsed.is_fqdn() {
        Ok(parsed)
    } else {
        parsed
            .append_domain(origin)
            .map_err(|e| format!("{text:?} is too long inside {origin}: {e}"))
    }
}

fn txt(text: &str) -> Result<RecordData, String> {
    if !text.starts_with('"') {
        return Ok(RecordData::txt(text));
    }
    let strings = quoted_strings(text)?;
    if let Some(long) = strings.iter().find(|s| s.len() > 255) {
        return Err(format!(
            "a quoted TXT string holds at most 255 bytes, this one {}; leave the data unquoted and muster splits it",
            long.len()
        ));
    }
    Ok(RecordData::Txt(strings))
}

/// `"a" "b\"c" "\065"` as byte strings.
fn quoted_strings(text: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    let mut bytes = text.bytes().peekable();
    loop {
        while bytes.next_if(u8::is_ascii_whitespace).is_some() {}
        match bytes.next() {
            None => break,
            Some(b'"') => {}
            Some(_) => {
                return Err("TXT data is quoted strings separated by spaces, or unquoted text".to_owned());
            }
        }
        let mut s = Vec::new();
        loop {
            match bytes.next() {
                None => return Err("a quoted string is not closed with `\"`".to_owned()),
                Some(b'"') => break,
                Some(b'\\') => match bytes.next() {
                    Some(d) if d.is_ascii_digit() => {
                        let mut value = u32::from(d - b'0');
                        for _ in 0..2 {
                            match bytes.next() {
                                Some(d) if d.is_ascii_digit() => value = value * 10 + u32::from(d - b'0'),
                                _ => return Err("`\\DDD` needs three digits".to_owned()),
                            }
                        }
                        s.push(u8::try_from(value).map_err(|_| "`\\DDD` is at most \\255".to_owned())?);
                    }
                    Some(c) => s.push(c),
                    None => return Err("a quoted string ends in `\\`".to_owned()),
                },
                Some(c) => s.push(c),
            }
        }
        out.push(s);
    }
    if out.is_empty() {
        out.push(Vec::new());
    }
    Ok(out)
}

fn caa(text: &str) -> Result<RecordData, String> {
    let usage = || format!("CAA data is `FLAGS TAG VALUE` (`0 issue \"letsencrypt.org\"`), not {text:?}");
    let mut parts = text.splitn(3, char::is_whitespace);
    let (Some(flags), Some(tag), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(usage());
    };
    let flags: u8 = number(flags, "the CAA flags")?;
    if tag.is_empty() || !tag.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!(
            "the CAA tag {tag:?} is letters and digits (`issue`, `issuewild`, `iodef`)"
        ));
    }
    let value = value.trim();
    let value = if value.starts_with('"') {
        match quoted_strings(value)?.as_slice() {
            [one] => one.clone(),
            _ => return Err(usage()),
        }
    } else {
        value.as_bytes().to_vec()
    };
    Ok(RecordData::Caa {
        flags,
        tag: tag.to_ascii_lowercase(),
        value,
    })
}

fn generic(code: u16, fields: &[&str]) -> Result<RecordData, String> {
    let usage = || "data of a TYPEnnn record is `\\# LENGTH HEX` (RFC 3597)".to_owned();
    let [marker, length, data @ ..] = fields else {
        return Err(usage());
    };
    if *marker != "\\#" {
        return Err(usage());
    }
    let length: usize = number(length, "the RDATA length")?;
    let data = hex(&data.concat())?;
    if data.len() != length {
        return Err(format!(
            "the RDATA is {} bytes, not the {length} its length says",
            data.len()
        ));
    }
    Ok(RecordData::Unknown { rtype: code, data })
}

fn hex(text: &str) -> Result<Vec<u8>, String> {
    if !text.len().is_multiple_of(2) {
        return Err(format!("{text:?} is not whole bytes of hexadecimal"));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| format!("{text:?} is not hexadecimal"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Name {
        Name::from_ascii("lists.example.test.").expect("origin")
    }

    fn parse(rtype: &str, text: &str) -> Result<RecordData, String> {
        RecordData::from_presentation(rtype, text, &origin())
    }

    #[test]
    fn every_type_reads_back_its_own_presentation() {
        let cases = [
            ("A", "127.0.0.1"),
            ("AAAA", "::1"),
            ("MX", "10 smurf1.lists.example.test."),
            ("NS", "ns1.sub.lists.example.test."),
            ("CNAME", "smurf9.lists.example.test."),
            ("PTR", "smurf1.lists.example.test."),
            ("SRV", "10 5 993 imap.lists.example.test."),
            ("TXT", "\"v=spf1 -all\""),
            ("TXT", "\"part one\" \"part \\\"two\\\"\""),
            ("CAA", "0 issue \"letsencrypt.org\""),
            ("TLSA", "3 1 1 0D6FCE3A"),
            ("TYPE65534", "\\# 3 ABCDEF"),
            ("TYPE65533", "\\# 0"),
        ];
        for (rtype, text) in cases {
            let data = parse(rtype, text).unwrap_or_else(|e| panic!("{rtype} {text}: {e}"));
            let again = parse(&data.type_presentation(), &data.to_presentation()).expect("round trip");
            assert_eq!(data, again, "{rtype} {text}");
        }
    }

    #[test]
    fn relative_names_are_inside_the_origin() {
        assert_eq!(
            parse("MX", "10 smurf1").expect("mx"),
            RecordData::Mx {
                preference: 10,
                exchange: Name::from_ascii("smurf1.lists.example.test.").expect("name")
            }
        );
        assert_eq!(parse("CNAME", "@").expect("apex"), RecordData::Cname(origin()));
    }

    #[test]
    fn long_unquoted_txt_is_split_into_character_strings() {
        let key = format!("v=DKIM1; k=rsa; p={}", "A".repeat(392));
        let RecordData::Txt(strings) = parse("TXT", &key).expect("txt") else {
            panic!("not TXT");
        };
        assert_eq!(
            strings.iter().map(Vec::len).collect::<Vec<_>>(),
            [255, key.len() - 255]
        );
        assert_eq!(strings.concat(), key.as_bytes());
    }

    #[test]
    fn bad_data_says_what_is_wrong() {
        assert!(parse("A", "300.1.1.1").expect_err("refused").contains("IPv4"));
        assert!(parse("MX", "smurf1").expect_err("refused").contains("PREFERENCE"));
        assert!(
            parse("TXT", &format!("\"{}\"", "x".repeat(300)))
                .expect_err("refused")
                .contains("255")
        );
        assert!(parse("TXT", "\"open").expect_err("refused").contains("closed"));
        assert!(
            parse("TYPE65534", "\\# 4 ABCDEF")
                .expect_err("refused")
                .contains("3 bytes")
        );
        assert!(parse("HINFO", "x y").expect_err("refused").contains("TYPEnnn"));
        assert!(parse("SOA", "x").expect_err("refused").contains("soa:"));
        assert!(
            parse("CAA", "0 is-sue x")
                .expect_err("refused")
                .contains("letters")
        );
    }
}
