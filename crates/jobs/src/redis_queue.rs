//! The queue in Redis, for scaled-out installations. Every operation is one Lua script, so it
//! is atomic and any number of processes can share the queue.
//!
//! Keys (all under the queue's prefix `P`):
//! - `P:job:<id>`   hash: the job's fields;
//! - `P:q:<lane>`   sorted set: the lane's ready jobs, by [`score`] (due time, then priority);
//! - `P:heads`      sorted set: lanes that have ready jobs none of which is due yet, by the
//!   score of their first job;
//! - `P:active`     sorted set: lanes with a due job, by turn (claims serve the lowest first);
//! - `P:turns`      hash: each lane's last turn; `P:turn` the turn counter;
//! - `P:running`    sorted set: running jobs by lease end; `P:dead` dead jobs by time of death;
//! - `P:unique`     hash: unique key → job id;
//! - channel `P:wake`: a message whenever jobs become ready.
//!
//! Instants are passed in by the caller (the injected clock), never read from Redis.

use crate::{JobQueue, QueueError, Result};
use futures_util::StreamExt;
use jiff::Timestamp;
use nanopost_domain::ids::WorkspaceId;
use nanopost_storage::{
    Cancelled, Claim, Enqueued, Heartbeat, Job, JobId, JobState, JobWakeups, Lease, NewJob, SYSTEM_LANE,
};
use redis::Script;
use redis::aio::ConnectionManager;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, LazyLock};
use std::time::Duration;
use uuid::Uuid;

/// Most jobs per claim or per enqueue script.
const MAX_BATCH: u32 = 1000;
const LEASE_EXPIRED_ERROR: &str = "lease expired: the worker stopped (crash or hang) before finishing";

/// Functions every script starts with. `P` is the key prefix (always `ARGV[1]`).
const PRELUDE: &str = r#"
local P = ARGV[1]
local function score(due, prio)
  return math.floor(tonumber(due) / 1000) * 2048 + (1023 - tonumber(prio))
end
local function lane_ready(lane, s)
  if redis.call('ZSCORE', P..':active', lane) then return end
  local h = redis.call('ZSCORE', P..':heads', lane)
  if (not h) or tonumber(h) > s then redis.call('ZADD', P..':heads', s, lane) end
end
local function enqueue(id, lane, kind, payload, due, prio, max, ukey, created)
  if ukey ~= '' then
    local existing = redis.call('HGET', P..':unique', ukey)
    if existing then return {0, existing} end
    redis.call('HSET', P..':unique', ukey, id)
  end
  if redis.call('EXISTS', P..':job:'..id) == 1 then return redis.error_reply('job ' .. id .. ' already exists') end
  redis.call('HSET', P..':job:'..id, 'kind', kind, 'payload', payload, 'lane', lane, 'due', due, 'prio', prio,
    'attempts', 0, 'max', max, 'ukey', ukey, 'state', 'ready', 'cancel', 0, 'err', '', 'token', '', 'until', '',
    'created', created, 'updated', created)
  local s = score(due, prio)
  redis.call('ZADD', P..':q:'..lane, s, id)
  lane_ready(lane, s)
  return {1, id}
end
local function held(id, token)
  local f = redis.call('HMGET', P..':job:'..id, 'state', 'token')
  return f[1] == 'running' and f[2] == token
end
local function remove_job(id)
  local k = P..':job:'..id
  local f = redis.call('HMGET', k, 'ukey', 'lane')
  if f[1] and f[1] ~= '' and redis.call('HGET', P..':unique', f[1]) == id then
    redis.call('HDEL', P..':unique', f[1])
  end
  if f[2] then redis.call('ZREM', P..':q:'..f[2], id) end
  redis.call('ZREM', P..':running', id)
  redis.call('ZREM', P..':dead', id)
  redis.call('DEL', k)
end
local function requeue(id, due)
  local k = P..':job:'..id
  local f = redis.call('HMGET', k, 'lane', 'prio')
  redis.call('HSET', k, 'state', 'ready', 'due', due, 'token', '', 'until', '')
  redis.call('ZREM', P..':running', id)
  redis.call('ZREM', P..':dead', id)
  local s = score(due, f[2])
  redis.call('ZADD', P..':q:'..f[1], s, id)
  lane_ready(f[1], s)
end
local function fields(id)
  local f = redis.call('HGETALL', P..':job:'..id)
  table.insert(f, 1, id)
  return f
end
local function wake() redis.call('PUBLISH', P..':wake', '') end
"#;

/// ARGV: P, n, then n × (id, lane, kind, payload, due, prio, max, ukey, created).
const ENQUEUE: &str = r#"
local n = tonumber(ARGV[2])
local out = {}
for i = 0, n - 1 do
  local a = 3 + i * 9
  out[#out + 1] = enqueue(ARGV[a], ARGV[a+1], ARGV[a+2], ARGV[a+3], ARGV[a+4], ARGV[a+5], ARGV[a+6], ARGV[a+7], ARGV[a+8])
end
wake()
return out
"#;

/// ARGV: P, max score, limit, token, lease until, now.
const CLAIM: &str = r#"
local maxs = tonumber(ARGV[2]); local limit = tonumber(ARGV[3]); local token = ARGV[4]
local until_ = ARGV[5]; local now = ARGV[6]
for _, lane in ipairs(redis.call('ZRANGEBYSCORE', P..':heads', '-inf', maxs, 'LIMIT', 0, 1000)) do
  redis.call('ZREM', P..':heads', lane)
  redis.call('ZADD', P..':active', redis.call('HGET', P..':turns', lane) or 0, lane)
end
local lanes = redis.call('ZRANGE', P..':active', 0, limit - 1)
if #lanes == 0 then return {} end
local per = math.max(1, math.floor(limit / #lanes))
local out = {}
for _, lane in ipairs(lanes) do
  local q = P..':q:'..lane
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', q, '-inf', maxs, 'LIMIT', 0, per)) do
    local k = P..':job:'..id
    -- Scores have millisecond buckets: the exact due time decides inside the current one.
    if tonumber(redis.call('HGET', k, 'due')) <= tonumber(now) then
    redis.call('ZREM', q, id)
    redis.call('HINCRBY', k, 'attempts', 1)
    redis.call('HSET', k, 'state', 'running', 'token', token, 'until', until_, 'updated', now)
    redis.call('ZADD', P..':running', until_, id)
    out[#out + 1] = fields(id)
    end
  end
  local turn = redis.call('INCR', P..':turn')
  redis.call('HSET', P..':turns', lane, turn)
  local head = redis.call('ZRANGE', q, 0, 0, 'WITHSCORES')
  if #head == 0 then
    redis.call('ZREM', P..':active', lane)
  elseif tonumber(head[2]) <= maxs then
    redis.call('ZADD', P..':active', turn, lane)
  else
    redis.call('ZREM', P..':active', lane)
    redis.call('ZADD', P..':heads', head[2], lane)
  end
end
return out
"#;

/// ARGV: P, id, token, until. Returns -1 (lost), 0 (extended) or 1 (cancel requested).
const HEARTBEAT: &str = r#"
if not held(ARGV[2], ARGV[3]) then return -1 end
redis.call('HSET', P..':job:'..ARGV[2], 'until', ARGV[4])
redis.call('ZADD', P..':running', ARGV[4], ARGV[2])
return tonumber(redis.call('HGET', P..':job:'..ARGV[2], 'cancel'))
"#;

/// ARGV: P, id, token, payload.
const CHECKPOINT: &str = r#"
if not held(ARGV[2], ARGV[3]) then return 0 end
redis.call('HSET', P..':job:'..ARGV[2], 'payload', ARGV[4])
return 1
"#;

/// ARGV: P, then (id, token) pairs. Returns how many were held.
const COMPLETE: &str = r#"
local done = 0
for i = 2, #ARGV - 1, 2 do
  if held(ARGV[i], ARGV[i+1]) then remove_job(ARGV[i]); done = done + 1 end
end
return done
"#;

/// ARGV: P, id, token, n, then n jobs as in ENQUEUE. Returns -1 if the lease is gone.
const COMPLETE_AND_ENQUEUE: &str = r#"
if not held(ARGV[2], ARGV[3]) then return -1 end
remove_job(ARGV[2])
local n = tonumber(ARGV[4])
local out = {}
for i = 0, n - 1 do
  local a = 5 + i * 9
  out[#out + 1] = enqueue(ARGV[a], ARGV[a+1], ARGV[a+2], ARGV[a+3], ARGV[a+4], ARGV[a+5], ARGV[a+6], ARGV[a+7], ARGV[a+8])
end
if n > 0 then wake() end
return out
"#;

/// ARGV: P, id, token, mode (retry | dead | release), due, error, now. Returns 1 if held.
const UNLEASE: &str = r#"
local id = ARGV[2]; local mode = ARGV[4]; local k = P..':job:'..id
if not held(id, ARGV[3]) then return 0 end
if redis.call('HGET', k, 'cancel') == '1' then remove_job(id); return 1 end
redis.call('HSET', k, 'updated', ARGV[7])
if mode == 'dead' then
  redis.call('HSET', k, 'state', 'dead', 'err', ARGV[6], 'token', '', 'until', '')
  redis.call('ZREM', P..':running', id)
  redis.call('ZADD', P..':dead', ARGV[7], id)
  return 1
end
local due = ARGV[5]
if mode == 'release' then
  local a = tonumber(redis.call('HGET', k, 'attempts'))
  if a > 0 then redis.call('HSET', k, 'attempts', a - 1) end
  due = redis.call('HGET', k, 'due')
else
  redis.call('HSET', k, 'err', ARGV[6])
end
requeue(id, due)
wake()
return 1
"#;

/// ARGV: P, now, error. Returns how many expired leases were handled.
const REAP: &str = r#"
local now = ARGV[2]
local ids = redis.call('ZRANGEBYSCORE', P..':running', '-inf', '(' .. now, 'LIMIT', 0, 1000)
local requeued = 0
for _, id in ipairs(ids) do
  local k = P..':job:'..id
  local f = redis.call('HMGET', k, 'state', 'cancel', 'attempts', 'max', 'due')
  if f[1] ~= 'running' then
    redis.call('ZREM', P..':running', id)
  elseif f[2] == '1' then
    remove_job(id)
  elseif tonumber(f[3]) >= tonumber(f[4]) then
    redis.call('HSET', k, 'state', 'dead', 'err', ARGV[3], 'token', '', 'until', '', 'updated', now)
    redis.call('ZREM', P..':running', id)
    redis.call('ZADD', P..':dead', now, id)
  else
    redis.call('HSET', k, 'err', ARGV[3], 'updated', now)
    requeue(id, f[5])
    requeued = requeued + 1
  end
end
if requeued > 0 then wake() end
return #ids
"#;

/// ARGV: P. The exact due time (micros) of the first job of the first waiting lane and of a
/// few due lanes, whichever is earliest.
const NEXT_DUE: &str = r#"
local best = nil
local function consider(lane)
  local f = redis.call('ZRANGE', P..':q:'..lane, 0, 0)
  if #f > 0 then
    local due = tonumber(redis.call('HGET', P..':job:'..f[1], 'due'))
    if due and (best == nil or due < best) then best = due end
  end
end
local h = redis.call('ZRANGE', P..':heads', 0, 0)
if #h > 0 then consider(h[1]) end
for _, lane in ipairs(redis.call('ZRANGE', P..':active', 0, 15)) do consider(lane) end
if best == nil then return false end
return string.format('%.0f', best)
"#;

/// ARGV: P, id ('' to look up the key), key. Returns the job's fields or nil.
const GET: &str = r#"
local id = ARGV[2]
if id == '' then id = redis.call('HGET', P..':unique', ARGV[3]) end
if (not id) or redis.call('EXISTS', P..':job:'..id) == 0 then return false end
return fields(id)
"#;

/// ARGV: P, limit.
const DEAD: &str = r#"
local out = {}
for _, id in ipairs(redis.call('ZREVRANGE', P..':dead', 0, tonumber(ARGV[2]) - 1)) do
  out[#out + 1] = fields(id)
end
return out
"#;

/// ARGV: P, id, now. Returns 1 if the job was dead.
const RETRY_DEAD: &str = r#"
local k = P..':job:'..ARGV[2]
if redis.call('HGET', k, 'state') ~= 'dead' then return 0 end
redis.call('HSET', k, 'attempts', 0, 'updated', ARGV[3])
requeue(ARGV[2], ARGV[3])
wake()
return 1
"#;

/// ARGV: P, id ('' to look up the key), key. Returns 0 not found, 1 removed, 2 requested.
const CANCEL: &str = r#"
local id = ARGV[2]
if id == '' then id = redis.call('HGET', P..':unique', ARGV[3]) end
if not id then return 0 end
local st = redis.call('HGET', P..':job:'..id, 'state')
if not st then return 0 end
if st == 'ready' or st == 'dead' then remove_job(id); return 1 end
redis.call('HSET', P..':job:'..id, 'cancel', 1)
return 2
"#;

struct Scripts {
    enqueue: Script,
    claim: Script,
    heartbeat: Script,
    checkpoint: Script,
    complete: Script,
    complete_and_enqueue: Script,
    unlease: Script,
    reap: Script,
    next_due: Script,
    get: Script,
    dead: Script,
    retry_dead: Script,
    cancel: Script,
}

static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| {
    let s = |body: &str| Script::new(&format!("{PRELUDE}\n{body}"));
    Scripts {
        enqueue: s(ENQUEUE),
        claim: s(CLAIM),
        heartbeat: s(HEARTBEAT),
        checkpoint: s(CHECKPOINT),
        complete: s(COMPLETE),
        complete_and_enqueue: s(COMPLETE_AND_ENQUEUE),
        unlease: s(UNLEASE),
        reap: s(REAP),
        next_due: s(NEXT_DUE),
        get: s(GET),
        dead: s(DEAD),
        retry_dead: s(RETRY_DEAD),
        cancel: s(CANCEL),
    }
});

/// The Redis queue. `Debug` shows the prefix, never the URL (it may hold a password).
#[derive(Clone)]
pub struct RedisQueue {
    client: redis::Client,
    con: ConnectionManager,
    prefix: Arc<str>,
}

impl fmt::Debug for RedisQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisQueue").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl RedisQueue {
    /// Connects to `redis://…` and keeps every key under `prefix`.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self> {
        let client = redis::Client::open(url)?;
        let con = ConnectionManager::new(client.clone()).await?;
        Ok(Self { client, con, prefix: prefix.into() })
    }

    fn invoke<'a>(&'a self, script: &'a Script) -> redis::ScriptInvocation<'a> {
        let mut inv = script.prepare_invoke();
        inv.arg(&*self.prefix);
        inv
    }
}

/// Scores (see `score` in the Lua prelude) are the due time's whole millisecond, then priority
/// (higher first), exact in a double for centuries; the claim checks the exact due time inside
/// the current millisecond. This is the highest score that may be due at `now`.
fn max_due_score(now: Timestamp) -> i64 {
    now.as_millisecond() * 2048 + 2047
}

fn add_job_args(inv: &mut redis::ScriptInvocation<'_>, job: &NewJob) {
    inv.arg(job.id.to_string())
        .arg(job.lane().to_string())
        .arg(&job.kind)
        .arg(job.payload.to_string())
        .arg(job.due_at.as_microsecond())
        .arg(job.priority)
        .arg(job.max_attempts)
        .arg(job.unique_key.as_deref().unwrap_or(""))
        .arg(job.created_at.as_microsecond());
}

fn enqueued(rows: Vec<(i64, String)>) -> Result<Vec<Enqueued>> {
    rows.into_iter()
        .map(|(new, id)| {
            let id = JobId::from_str_checked(&id)?;
            Ok(if new == 1 { Enqueued::New(id) } else { Enqueued::Duplicate(id) })
        })
        .collect()
}

trait FromStrChecked: Sized {
    fn from_str_checked(s: &str) -> Result<Self>;
}

impl FromStrChecked for JobId {
    fn from_str_checked(s: &str) -> Result<Self> {
        s.parse().map_err(|e| QueueError::Corrupt(format!("job id {s:?}: {e}")))
    }
}

/// A job from `[id, field, value, field, value, …]`.
fn job_from_fields(raw: Vec<String>) -> Result<Job> {
    let mut it = raw.into_iter();
    let id = JobId::from_str_checked(&it.next().ok_or_else(|| QueueError::Corrupt("empty job".into()))?)?;
    let mut f: HashMap<String, String> = HashMap::new();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        f.insert(k, v);
    }
    let get = |k: &str| f.get(k).map(String::as_str).ok_or_else(|| QueueError::Corrupt(format!("job {id}: no {k}")));
    let num = |k: &str| -> Result<i64> {
        get(k)?.parse::<i64>().map_err(|e| QueueError::Corrupt(format!("job {id}: {k}: {e}")))
    };
    let instant = |us: i64| {
        Timestamp::from_microsecond(us).map_err(|e| QueueError::Corrupt(format!("job {id}: instant {us}: {e}")))
    };
    let count = |k: &str| -> Result<u32> {
        u32::try_from(num(k)?).map_err(|_| QueueError::Corrupt(format!("job {id}: {k} out of range")))
    };
    let lane: Uuid = get("lane")?.parse().map_err(|e| QueueError::Corrupt(format!("job {id}: lane: {e}")))?;
    let token = get("token")?;
    let lease = if token.is_empty() {
        None
    } else {
        let token = token.parse().map_err(|e| QueueError::Corrupt(format!("job {id}: token: {e}")))?;
        Some(Lease { job: id, token, until: instant(num("until")?)? })
    };
    let non_empty = |k: &str| get(k).ok().filter(|s| !s.is_empty()).map(str::to_owned);
    Ok(Job {
        id,
        workspace_id: (lane != SYSTEM_LANE).then(|| WorkspaceId::from_uuid(lane)),
        kind: get("kind")?.to_owned(),
        payload: serde_json::from_str(get("payload")?)
            .map_err(|e| QueueError::Corrupt(format!("job {id}: payload: {e}")))?,
        state: get("state")?.parse::<JobState>().map_err(QueueError::Corrupt)?,
        due_at: instant(num("due")?)?,
        priority: i16::try_from(num("prio")?).map_err(|_| QueueError::Corrupt(format!("job {id}: prio")))?,
        attempts: count("attempts")?,
        max_attempts: count("max")?,
        unique_key: non_empty("ukey"),
        lease,
        cancel_requested: get("cancel")? == "1",
        last_error: non_empty("err"),
        created_at: instant(num("created")?)?,
    })
}

fn sort_claimed(jobs: &mut [Job]) {
    jobs.sort_by_key(|j| (j.due_at, std::cmp::Reverse(j.priority), j.id));
}

impl JobQueue for RedisQueue {
    async fn enqueue_many(&self, jobs: &[NewJob]) -> Result<Vec<Enqueued>> {
        let mut out = Vec::with_capacity(jobs.len());
        for chunk in jobs.chunks(MAX_BATCH as usize) {
            let mut inv = self.invoke(&SCRIPTS.enqueue);
            inv.arg(chunk.len());
            for job in chunk {
                add_job_args(&mut inv, job);
            }
            let rows: Vec<(i64, String)> = inv.invoke_async(&mut self.con.clone()).await?;
            out.extend(enqueued(rows)?);
        }
        Ok(out)
    }

    async fn claim(&self, claim: &Claim) -> Result<Vec<Job>> {
        let mut inv = self.invoke(&SCRIPTS.claim);
        inv.arg(max_due_score(claim.now))
            .arg(claim.limit.clamp(1, MAX_BATCH))
            .arg(Uuid::new_v4().to_string())
            .arg(claim.lease_until.as_microsecond())
            .arg(claim.now.as_microsecond());
        let rows: Vec<Vec<String>> = inv.invoke_async(&mut self.con.clone()).await?;
        let mut jobs = rows.into_iter().map(job_from_fields).collect::<Result<Vec<_>>>()?;
        sort_claimed(&mut jobs);
        Ok(jobs)
    }

    async fn heartbeat(&self, lease: &Lease, until: Timestamp) -> Result<Heartbeat> {
        let mut inv = self.invoke(&SCRIPTS.heartbeat);
        inv.arg(lease.job.to_string()).arg(lease.token.to_string()).arg(until.as_microsecond());
        let got: i64 = inv.invoke_async(&mut self.con.clone()).await?;
        Ok(match got {
            -1 => Heartbeat::Lost,
            1 => Heartbeat::CancelRequested,
            _ => Heartbeat::Extended,
        })
    }

    async fn checkpoint(&self, lease: &Lease, payload: &serde_json::Value) -> Result<bool> {
        let mut inv = self.invoke(&SCRIPTS.checkpoint);
        inv.arg(lease.job.to_string()).arg(lease.token.to_string()).arg(payload.to_string());
        let got: i64 = inv.invoke_async(&mut self.con.clone()).await?;
        Ok(got == 1)
    }

    async fn complete(&self, leases: &[Lease]) -> Result<u64> {
        let mut done = 0;
        for chunk in leases.chunks(MAX_BATCH as usize) {
            let mut inv = self.invoke(&SCRIPTS.complete);
            for l in chunk {
                inv.arg(l.job.to_string()).arg(l.token.to_string());
            }
            let n: u64 = inv.invoke_async(&mut self.con.clone()).await?;
            done += n;
        }
        Ok(done)
    }

    async fn complete_and_enqueue(&self, lease: &Lease, next: &[NewJob]) -> Result<Option<Vec<Enqueued>>> {
        let mut inv = self.invoke(&SCRIPTS.complete_and_enqueue);
        inv.arg(lease.job.to_string()).arg(lease.token.to_string()).arg(next.len());
        for job in next {
            add_job_args(&mut inv, job);
        }
        let got: redis::Value = inv.invoke_async(&mut self.con.clone()).await?;
        if let redis::Value::Int(-1) = got {
            return Ok(None);
        }
        let rows: Vec<(i64, String)> =
            redis::from_redis_value(got).map_err(|e| QueueError::Corrupt(format!("enqueue reply: {e}")))?;
        Ok(Some(enqueued(rows)?))
    }

    async fn retry(&self, lease: &Lease, due_at: Timestamp, error: &str, now: Timestamp) -> Result<bool> {
        self.unlease(lease, "retry", due_at, error, now).await
    }

    async fn dead_letter(&self, lease: &Lease, error: &str, now: Timestamp) -> Result<bool> {
        self.unlease(lease, "dead", now, error, now).await
    }

    async fn release(&self, lease: &Lease, now: Timestamp) -> Result<bool> {
        self.unlease(lease, "release", now, "", now).await
    }

    async fn reap_expired(&self, now: Timestamp) -> Result<u64> {
        let mut inv = self.invoke(&SCRIPTS.reap);
        inv.arg(now.as_microsecond()).arg(LEASE_EXPIRED_ERROR);
        Ok(inv.invoke_async(&mut self.con.clone()).await?)
    }

    async fn next_due(&self) -> Result<Option<Timestamp>> {
        let got: Option<String> = self.invoke(&SCRIPTS.next_due).invoke_async(&mut self.con.clone()).await?;
        let Some(us) = got else { return Ok(None) };
        let us: i64 = us.parse().map_err(|e| QueueError::Corrupt(format!("due {us:?}: {e}")))?;
        Ok(Some(Timestamp::from_microsecond(us).map_err(|e| QueueError::Corrupt(format!("due {us}: {e}")))?))
    }

    async fn wakeups(&self) -> Result<JobWakeups> {
        let channel = format!("{}:wake", self.prefix);
        // Subscribed before returning, so nothing published after this call is missed.
        let mut pubsub = self.client.get_async_pubsub().await?;
        pubsub.subscribe(&channel).await?;
        let client = self.client.clone();
        let (tx, rx) = tokio::sync::watch::channel(0u64);
        tokio::spawn(async move {
            loop {
                {
                    let mut messages = pubsub.on_message();
                    loop {
                        tokio::select! {
                            _ = tx.closed() => return,
                            m = messages.next() => match m {
                                Some(_) => { tx.send_modify(|v| *v = v.wrapping_add(1)); }
                                None => break,
                            },
                        }
                    }
                }
                // Disconnected: wake (something may have been missed) and resubscribe.
                tx.send_modify(|v| *v = v.wrapping_add(1));
                loop {
                    tokio::select! {
                        _ = tx.closed() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                    if let Ok(mut p) = client.get_async_pubsub().await
                        && p.subscribe(&channel).await.is_ok()
                    {
                        pubsub = p;
                        break;
                    }
                    tracing::warn!("job notifications from Redis unavailable; polling until they return");
                }
            }
        });
        Ok(JobWakeups::new(rx))
    }

    async fn job(&self, id: JobId) -> Result<Option<Job>> {
        let mut inv = self.invoke(&SCRIPTS.get);
        inv.arg(id.to_string()).arg("");
        let got: Option<Vec<String>> = inv.invoke_async(&mut self.con.clone()).await?;
        got.map(job_from_fields).transpose()
    }

    async fn job_by_key(&self, key: &str) -> Result<Option<Job>> {
        let mut inv = self.invoke(&SCRIPTS.get);
        inv.arg("").arg(key);
        let got: Option<Vec<String>> = inv.invoke_async(&mut self.con.clone()).await?;
        got.map(job_from_fields).transpose()
    }

    async fn dead_jobs(&self, limit: u32) -> Result<Vec<Job>> {
        let mut inv = self.invoke(&SCRIPTS.dead);
        inv.arg(limit.clamp(1, MAX_BATCH));
        let rows: Vec<Vec<String>> = inv.invoke_async(&mut self.con.clone()).await?;
        rows.into_iter().map(job_from_fields).collect()
    }

    async fn retry_dead(&self, id: JobId, now: Timestamp) -> Result<bool> {
        let mut inv = self.invoke(&SCRIPTS.retry_dead);
        inv.arg(id.to_string()).arg(now.as_microsecond());
        let got: i64 = inv.invoke_async(&mut self.con.clone()).await?;
        Ok(got == 1)
    }

    async fn cancel(&self, id: JobId) -> Result<Cancelled> {
        self.cancel_where(&id.to_string(), "").await
    }

    async fn cancel_by_key(&self, key: &str) -> Result<Cancelled> {
        self.cancel_where("", key).await
    }
}

impl RedisQueue {
    async fn unlease(&self, lease: &Lease, mode: &str, due: Timestamp, error: &str, now: Timestamp) -> Result<bool> {
        let mut inv = self.invoke(&SCRIPTS.unlease);
        inv.arg(lease.job.to_string())
            .arg(lease.token.to_string())
            .arg(mode)
            .arg(due.as_microsecond())
            .arg(error)
            .arg(now.as_microsecond());
        let got: i64 = inv.invoke_async(&mut self.con.clone()).await?;
        Ok(got == 1)
    }

    async fn cancel_where(&self, id: &str, key: &str) -> Result<Cancelled> {
        let mut inv = self.invoke(&SCRIPTS.cancel);
        inv.arg(id).arg(key);
        let got: i64 = inv.invoke_async(&mut self.con.clone()).await?;
        Ok(match got {
            1 => Cancelled::Removed,
            2 => Cancelled::Requested,
            _ => Cancelled::NotFound,
        })
    }

    /// Deletes every key under this queue's prefix (tests and benchmarks).
    pub async fn purge(&self) -> Result<()> {
        let mut con = self.con.clone();
        let pattern = format!("{}:*", self.prefix);
        let keys: Vec<String> = redis::cmd("KEYS").arg(&pattern).query_async(&mut con).await?;
        for chunk in keys.chunks(500) {
            let _: () = redis::cmd("DEL").arg(chunk).query_async(&mut con).await?;
        }
        Ok(())
    }
}
