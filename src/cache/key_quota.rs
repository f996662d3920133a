//! The kernel key quota (`/proc/key-users`) against what our entries take:
//! plain data, read by the kernel store on Linux and shown by `doctor`.

/// This user's kernel key quota and its use, from `/proc/key-users`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyQuota {
    pub keys: u64,
    pub max_keys: u64,
    pub bytes: u64,
    pub max_bytes: u64,
}

/// What one entry of ours costs the quota, about: a bound token's entry is
/// 1,150-1,450 bytes (its token is about 70% of it), a user's certificate
/// and key about 1,900.
pub const ENTRY_BYTES: u64 = 1_450;

impl KeyQuota {
    /// How many more entries of [`ENTRY_BYTES`] fit.
    pub fn room(&self) -> u64 {
        let bytes = self.max_bytes.saturating_sub(self.bytes) / ENTRY_BYTES;
        bytes.min(self.max_keys.saturating_sub(self.keys))
    }

    pub fn describe(&self) -> String {
        format!(
            "{} of {} bytes and {} of {} keys used (/proc/key-users), room for about {} more entries",
            self.bytes,
            self.max_bytes,
            self.keys,
            self.max_keys,
            self.room()
        )
    }
}

/// `  UID:  USAGE NKEYS/NIKEYS QNKEYS/MAXKEYS QNBYTES/MAXBYTES` per line.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(super) fn parse_key_users(text: &str, uid: u32) -> Option<KeyQuota> {
    text.lines().find_map(|line| {
        let (who, rest) = line.split_once(':')?;
        if who.trim().parse::<u32>().ok()? != uid {
            return None;
        }
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let pair = |f: &str| -> Option<(u64, u64)> {
            let (a, b) = f.split_once('/')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        };
        let (keys, max_keys) = pair(fields.get(2)?)?;
        let (bytes, max_bytes) = pair(fields.get(3)?)?;
        Some(KeyQuota {
            keys,
            max_keys,
            bytes,
            max_bytes,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_quota_of_one_user() {
        let text =
            "    0:    11 10/10 5/1000000 2591/25000000\n 1000:     3 2/2 17/200 19871/20000\n";
        assert_eq!(
            parse_key_users(text, 1000),
            Some(KeyQuota {
                keys: 17,
                max_keys: 200,
                bytes: 19_871,
                max_bytes: 20_000
            })
        );
        let q = parse_key_users(text, 1000).unwrap();
        assert_eq!(q.room(), 0);
        assert!(
            q.describe().contains("19871 of 20000 bytes"),
            "{}",
            q.describe()
        );
        assert_eq!(parse_key_users(text, 0).unwrap().room(), 17_239);
        assert_eq!(parse_key_users(text, 5), None);
        assert_eq!(parse_key_users("garbage\n7: x y", 7), None);
    }
}
