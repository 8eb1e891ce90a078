"""The proxy's sizes and times, in one place: the cache, the pools, the relay and the pump
share them, and tuning one is a matter of reading the others beside it."""

#: Seconds an ``open_target`` answer for a running space is reused.
TARGET_TTL = 2.0
#: Most (user, space) answers kept; the cache is cleared when it grows past this.
TARGET_CACHE_MAX = 10_000
#: Idle keep-alive connections kept per space server, and for how long.
POOL_MAX_IDLE = 16
POOL_IDLE_SECONDS = 30.0
CONNECT_TIMEOUT = 10.0
#: Bytes read from a space server at once (socket reads and relayed chunks).
CHUNK_SIZE = 256 * 1024
#: A socket read into tornado's own buffer (heads, small and chunked bodies).
READ_CHUNK = 64 * 1024
#: Relayed response bytes that may wait in the client's send buffer before the
#: space server is read again (then the relay waits down to the low mark).
RELAY_HIGH_WATER = 4 * CHUNK_SIZE
RELAY_LOW_WATER = CHUNK_SIZE
#: Bodies with a Content-Length at least this big are pumped without copies:
#: read straight into a few rotating buffers, each reused once sent.
PUMP_MIN_BODY = 1024 * 1024
PUMP_BUFFERS = 4
#: While pumping, the space server's socket wakes the domain only once this
#: many bytes wait (SO_RCVLOWAT), or after PUMP_LOWAT_WAIT seconds anyway.
PUMP_LOWAT = CHUNK_SIZE
PUMP_LOWAT_WAIT = 0.02
#: A space's activity is noted at most this often (seconds).
ACTIVITY_INTERVAL = 1.0
