//! mail-auth with no network, shared by the criterion benches and the `verify_loop` bin: a DNS
//! cache answered from a map (what is not in it optionally answered with a fixed miss, such as
//! NXDOMAIN for TXT), and an authenticator whose only name server is 127.0.0.1:9 (nothing listens
//! there), so a lookup that got past the cache fails rather than reaching the network.
//!
//! Included by path into each target, each using part of it.
#![allow(dead_code)]

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use mail_auth::hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts,
};
use mail_auth::{
    DnsCache, MessageAuthenticator, Mx, Negative, RecordSet, ResolverCache, TxtRecord,
};

/// One record type's answers, by name; `miss` answers a name not in the map.
pub struct MapCache<K, V> {
    map: Mutex<HashMap<K, V>>,
    miss: Option<V>,
}

impl<K, V> Default for MapCache<K, V> {
    fn default() -> Self {
        MapCache {
            map: Mutex::new(HashMap::new()),
            miss: None,
        }
    }
}

impl<K, V> MapCache<K, V> {
    /// Answers from `map`, and `miss` for any other name.
    pub fn with(map: HashMap<K, V>, miss: Option<V>) -> Self {
        MapCache {
            map: Mutex::new(map),
            miss,
        }
    }
}

impl<K: Hash + Eq, V: Clone> ResolverCache<K, V> for MapCache<K, V> {
    fn get<Q>(&self, name: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let map = self.map.lock().expect("cache lock");
        map.get(name).or(self.miss.as_ref()).cloned()
    }

    fn remove<Q>(&self, name: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.lock().expect("cache lock").remove(name)
    }

    fn insert(&self, key: K, value: V, _valid_until: Instant) {
        self.map.lock().expect("cache lock").insert(key, value);
    }
}

type Answer<T> = Result<RecordSet<T>, Negative>;

/// Every record type mail-auth caches.
#[derive(Default)]
pub struct OfflineCache {
    pub txt: MapCache<Box<str>, TxtRecord>,
    pub mx: MapCache<Box<str>, Answer<Mx>>,
    pub ipv4: MapCache<Box<str>, Answer<Ipv4Addr>>,
    pub ipv6: MapCache<Box<str>, Answer<Ipv6Addr>>,
    pub ptr: MapCache<IpAddr, Answer<Box<str>>>,
}

impl DnsCache for OfflineCache {
    type Txt = MapCache<Box<str>, TxtRecord>;
    type Mx = MapCache<Box<str>, Answer<Mx>>;
    type Ipv4 = MapCache<Box<str>, Answer<Ipv4Addr>>;
    type Ipv6 = MapCache<Box<str>, Answer<Ipv6Addr>>;
    type Ptr = MapCache<IpAddr, Answer<Box<str>>>;

    fn txt(&self) -> Option<&Self::Txt> {
        Some(&self.txt)
    }
    fn mx(&self) -> Option<&Self::Mx> {
        Some(&self.mx)
    }
    fn ipv4(&self) -> Option<&Self::Ipv4> {
        Some(&self.ipv4)
    }
    fn ipv6(&self) -> Option<&Self::Ipv6> {
        Some(&self.ipv6)
    }
    fn ptr(&self) -> Option<&Self::Ptr> {
        Some(&self.ptr)
    }
}

/// An authenticator whose only name server is 127.0.0.1:9 with a short timeout. Needs a tokio
/// runtime entered.
pub fn offline_authenticator() -> MessageAuthenticator {
    let mut conn = ConnectionConfig::udp();
    conn.port = 9;
    let server = NameServerConfig::new(IpAddr::V4(Ipv4Addr::LOCALHOST), true, vec![conn]);
    let mut opts = ResolverOpts::default();
    opts.timeout = Duration::from_millis(100);
    opts.attempts = 0;
    MessageAuthenticator::new(ResolverConfig::from_name_servers(vec![server]), opts)
        .expect("build mail-auth authenticator")
}
