-- SHA-256 (FIPS 180-4) in plain Lua 5.1, for the audit trail's hash chain (see _chain.lua):
-- sha256_hex(s) is the hex digest of the bytes of s. Redis's Lua has no SHA-256 of its own,
-- only the `bit` library, which this uses; where there is no `bit` (fakeredis, for
-- `shipbot console`), a slower pure-arithmetic stand-in on 4-bit tables does the same.
local sha256_hex = (function()
  local W32 = 4294967296
  local B = rawget(_G, 'bit')
  local band, bor, bxor, bnot, rshift, ror, norm, hex
  if B then
    band, bor, bxor, bnot, rshift, ror = B.band, B.bor, B.bxor, B.bnot, B.rshift, B.ror
    norm = B.tobit
    hex = function(x) return B.tohex(x, 8) end
  else
    -- words are 0 .. 2^32-1; one 16x16 table per operation, a nibble at a time
    local T = {}
    local function table_of(op)
      local t = {}
      for a = 0, 15 do
        for b = 0, 15 do
          local r, p = 0, 1
          for i = 0, 3 do
            local x, y = math.floor(a / 2 ^ i) % 2, math.floor(b / 2 ^ i) % 2
            r = r + op(x, y) * p
            p = p * 2
          end
          t[a * 16 + b] = r
        end
      end
      return t
    end
    T.xor = table_of(function(x, y) return (x + y) % 2 end)
    T['and'] = table_of(function(x, y) return x * y end)
    T['or'] = table_of(function(x, y) return math.max(x, y) end)
    local function by_nibbles(t, a, b)
      a, b = a % W32, b % W32
      local r, p = 0, 1
      for _ = 1, 8 do
        r = r + t[(a % 16) * 16 + b % 16] * p
        a, b, p = math.floor(a / 16), math.floor(b / 16), p * 16
      end
      return r
    end
    band = function(a, b, c) local r = by_nibbles(T['and'], a, b)
      if c then r = by_nibbles(T['and'], r, c) end return r end
    bor = function(a, b) return by_nibbles(T['or'], a, b) end
    bxor = function(a, b, c) local r = by_nibbles(T.xor, a, b)
      if c then r = by_nibbles(T.xor, r, c) end return r end
    bnot = function(a) return W32 - 1 - a % W32 end
    rshift = function(a, n) return math.floor((a % W32) / 2 ^ n) end
    ror = function(a, n)
      a = a % W32
      local low = a % 2 ^ n
      return (a - low) / 2 ^ n + low * 2 ^ (32 - n)
    end
    norm = function(a) return a % W32 end
    hex = function(x) return string.format('%08x', x % W32) end
  end

  local K = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
  }
  for i = 1, 64 do K[i] = norm(K[i]) end

  -- the message padded to a multiple of 64 bytes: 0x80, zeros, its bit length (64 bits)
  local function padded(s)
    local bits = #s * 8
    local tail = ''
    for i = 7, 0, -1 do
      tail = tail .. string.char(math.floor(bits / 2 ^ (8 * i)) % 256)
    end
    return s .. '\128' .. string.rep('\0', (55 - #s) % 64) .. tail
  end

  local function block(H, s, at)
    local w = {}
    for i = 1, 16 do
      local a, b, c, d = string.byte(s, at + (i - 1) * 4, at + i * 4 - 1)
      w[i] = norm(((a * 256 + b) * 256 + c) * 256 + d)
    end
    for i = 17, 64 do
      local v, u = w[i - 15], w[i - 2]
      local s0 = bxor(ror(v, 7), ror(v, 18), rshift(v, 3))
      local s1 = bxor(ror(u, 17), ror(u, 19), rshift(u, 10))
      w[i] = norm(w[i - 16] + s0 + w[i - 7] + s1)
    end
    local a, b, c, d, e, f, g, h = H[1], H[2], H[3], H[4], H[5], H[6], H[7], H[8]
    for i = 1, 64 do
      local S1 = bxor(ror(e, 6), ror(e, 11), ror(e, 25))
      local ch = bxor(band(e, f), band(bnot(e), g))
      local t1 = h + S1 + ch + K[i] + w[i]
      local S0 = bxor(ror(a, 2), ror(a, 13), ror(a, 22))
      local maj = bxor(band(a, b), band(a, c), band(b, c))
      h, g, f, e = g, f, e, norm(d + t1)
      d, c, b, a = c, b, a, norm(t1 + S0 + maj)
    end
    H[1], H[2], H[3], H[4] = norm(H[1] + a), norm(H[2] + b), norm(H[3] + c), norm(H[4] + d)
    H[5], H[6], H[7], H[8] = norm(H[5] + e), norm(H[6] + f), norm(H[7] + g), norm(H[8] + h)
  end

  return function(s)
    local H = {
      norm(0x6a09e667), norm(0xbb67ae85), norm(0x3c6ef372), norm(0xa54ff53a),
      norm(0x510e527f), norm(0x9b05688c), norm(0x1f83d9ab), norm(0x5be0cd19),
    }
    local m = padded(s)
    for at = 1, #m, 64 do block(H, m, at) end
    local out = {}
    for i = 1, 8 do out[i] = hex(H[i]) end
    return table.concat(out)
  end
end)()
