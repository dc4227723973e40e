//! Search polling: instead of reading the records in flight back by id, each poll asks the
//! target's `search` for every contact modified since the newest modification the previous
//! polls saw, minus `overlap`, oldest first, paged. This is how an integration that cannot read
//! by id (or a downstream consumer) discovers changes, and it is exposed to the vendor's search
//! lag: a record becomes searchable some time after it was written, so a record is *delivered*
//! at the completion time of the first search that returned it. A lag longer than `overlap`
//! behind the newest change seen makes records invisible to the next polls: they are declared
//! lost when their window runs out, which is what such a consumer would suffer.
//!
//! Searches are paced at the plan's `search_rate` and recorded as calls (`search:poll`); a
//! throttled or failed search ends the poll early (the next poll starts from the same point).

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::sleep_until;

use super::readback::verification_call;
use super::watch::{Counters, Finder};
use crate::measure::{Message, Micros, Outcome, RunClock};
use crate::replay::hubspot_search::{
    SEARCH, next_after as next_search_page, parse_results as parse_target_results,
};
use crate::replay::{CrmClient, InFlight, classify};

/// HubSpot's `lastmodifieddate` on contacts.
const LAST_MODIFIED: &str = "lastmodifieddate";
const PAGE: u32 = 200;
/// HubSpot's search returns at most 10,000 results for one query; past it the poll restarts
/// from the newest modification it has seen.
const MAX_RESULTS: u64 = 10_000;

/// The polling state.
pub struct SearchFinder {
    pub client: CrmClient,
    pub id_property: String,
    pub overlap: Duration,
    pub search_gap: Duration,
    pub clock: RunClock,
    pub events: mpsc::Sender<Message>,
    pub call_ids: Arc<AtomicU64>,
    pub counters: Arc<Counters>,
    /// The newest `lastmodifieddate` seen (the target's clock, so a skewed local clock does not
    /// matter), or the run's start.
    newest: Option<SystemTime>,
    next_call: Micros,
}

impl SearchFinder {
    #[allow(clippy::too_many_arguments)] // each argument is a distinct collaborator
    pub fn new(
        client: CrmClient,
        id_property: String,
        overlap: Duration,
        search_gap: Duration,
        clock: RunClock,
        events: mpsc::Sender<Message>,
        call_ids: Arc<AtomicU64>,
        counters: Arc<Counters>,
    ) -> SearchFinder {
        SearchFinder {
            client,
            id_property,
            overlap,
            search_gap,
            next_call: clock.now(),
            clock,
            events,
            call_ids,
            counters,
            newest: None,
        }
    }

    fn body(&self, since: SystemTime, after: u64) -> Value {
        json!({
            "filterGroups": [{ "filters": [{
                "propertyName": LAST_MODIFIED,
                "operator": "GTE",
                "value": humantime::format_rfc3339_millis(since).to_string(),
            }] }],
            "properties": [self.id_property, LAST_MODIFIED],
            "sorts": [{ "propertyName": LAST_MODIFIED, "direction": "ASCENDING" }],
            "limit": PAGE,
            "after": after.to_string(),
        })
    }
}

impl Finder for SearchFinder {
    async fn find(&mut self, inflight: &InFlight) -> Vec<(u64, Micros)> {
        if inflight.is_empty() {
            return Vec::new();
        }
        let by_id = super::watch::in_flight_by_id(inflight);
        let base = self.newest.unwrap_or_else(|| self.clock.started_wall());
        let mut since = base.checked_sub(self.overlap).unwrap_or(base);
        let mut found = Vec::new();
        let mut after = 0u64;
        self.counters.add("polls", 1);
        loop {
            sleep_until(self.clock.instant(self.next_call)).await;
            let sent_at = self.clock.now();
            let response = self.client.post(SEARCH, &self.body(since, after)).await;
            let done_at = self.clock.now();
            self.next_call = sent_at.plus(self.search_gap);
            let body = response.body.value();
            let n = body
                .and_then(|b| b.get("results"))
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let call = verification_call(
                &self.call_ids,
                "search:poll",
                &response,
                (sent_at, done_at),
                n,
            );
            let _ = self.events.send(Message::Call(call)).await;
            if classify(response.status) != Outcome::Ok {
                self.counters.add("searches_failed", 1);
                if let Some(wait) = response.retry_after {
                    self.next_call = self.next_call.max(done_at.plus(wait));
                }
                break;
            }
            self.counters.add("searches", 1);
            let Some(body) = response.body.into_value() else {
                break;
            };
            for copy in parse_target_results(&body) {
                self.counters.add("results", 1);
                if let Some(modified) = copy
                    .get(LAST_MODIFIED)
                    .and_then(|t| humantime::parse_rfc3339_weak(t).ok())
                {
                    self.newest = Some(self.newest.map_or(modified, |n| n.max(modified)));
                }
                if let Some(idx) = copy.get(&self.id_property).and_then(|id| by_id.get(id)) {
                    found.push((*idx, done_at));
                }
            }
            match next_search_page(&body) {
                Some(next) if next > after && next < MAX_RESULTS => after = next,
                Some(_) => {
                    // The 10,000-result ceiling: go on from the newest change seen.
                    self.counters.add("result_ceiling_hits", 1);
                    match self.newest {
                        Some(newest) if newest > since => {
                            since = newest;
                            after = 0;
                        }
                        _ => break,
                    }
                }
                None => break,
            }
        }
        self.counters.add("records_found", found.len() as u64);
        found
    }
}
