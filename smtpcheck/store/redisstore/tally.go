package redisstore

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

var _ store.Tallier = (*Store)(nil)

// tallyScript applies a store.TallyOp to a hash (field "s": the window's
// start; "c:NAME": counters; "h:HOLDER": a holder's expiry) on Redis's own
// clock, so that the hosts of a cluster agree on windows and expiries
// whatever their clocks say. It returns {count, held}.
//
// ARGV: window ms, counter, holder, hold ms, release ("1" or "").
var tallyScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local key, win, counter, holder = KEYS[1], tonumber(ARGV[1]), ARGV[2], ARGV[3]
local holdfor, release = tonumber(ARGV[4]), ARGV[5] == '1'
local hf = ''
if holder ~= '' then hf = 'h:' .. holder end
local rec = redis.call('HGETALL', key)
local start, held, expiry, ncounters = nil, 0, 0, 0
local lapsed, counters = {}, {}
for i = 1, #rec, 2 do
	local f, v = rec[i], rec[i + 1]
	local kind = string.sub(f, 1, 2)
	if f == 's' then
		start = tonumber(v)
	elseif kind == 'c:' then
		counters[#counters + 1] = f
	elseif kind == 'h:' then
		local e = tonumber(v)
		if e <= now then
			lapsed[#lapsed + 1] = f
		elseif f ~= hf then
			held = held + 1
			if e > expiry then expiry = e end
		end
	end
end
if #lapsed > 0 then redis.call('HDEL', key, unpack(lapsed)) end
if hf ~= '' then
	if release then
		redis.call('HDEL', key, hf)
	else
		local e = now + holdfor
		redis.call('HSET', key, hf, e)
		held = held + 1
		if e > expiry then expiry = e end
	end
end
local n = 0
if counter ~= '' then
	if start == nil or now - start > win then
		if #counters > 0 then redis.call('HDEL', key, unpack(counters)) end
		start = now
		redis.call('HSET', key, 's', now)
	end
	n = redis.call('HINCRBY', key, 'c:' .. counter, 1)
	ncounters = 1
else
	ncounters = #counters
end
if start ~= nil and ncounters > 0 and start + win > expiry then expiry = start + win end
if expiry <= now then
	if #rec > 0 then redis.call('DEL', key) end
else
	redis.call('PEXPIREAT', key, expiry)
end
return {n, held}
`)

// Tally implements store.Tallier in one round trip.
func (s *Store) Tally(ctx context.Context, key string, op store.TallyOp) (store.TallyResult, error) {
	if err := op.Validate(); err != nil {
		return store.TallyResult{}, err
	}
	release := ""
	if op.Release {
		release = "1"
	}
	var res store.TallyResult
	err := s.do(ctx, func(ctx context.Context) error {
		v, err := tallyScript.Run(ctx, s.c, []string{s.key(key)},
			pttl(op.Window).Milliseconds(), op.Counter, op.Holder, pttl(op.HoldFor).Milliseconds(), release).Int64Slice()
		if err != nil {
			return err
		}
		if len(v) != 2 {
			return fmt.Errorf("redisstore: tally script returned %d values", len(v))
		}
		res = store.TallyResult{Count: v[0], Held: v[1]}
		return nil
	})
	return res, err
}
