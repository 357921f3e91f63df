-- sum: aggregates (hashes of numbers) added up field by field, in groups, so a summary gets
-- one hash per week of its chart instead of every week and day: K.parts are the hashes, in
-- order; A.sizes[i] is how many of them group i takes. Answers one flat field/value list per
-- group (counts as integers; sums with 17 significant digits).
local answers, next_key = {}, 1
for _, size in ipairs(A.sizes) do
  local totals, order = {}, {}
  for i = next_key, next_key + tonumber(size) - 1 do
    local flat = redis.call('HGETALL', K.parts[i])
    for j = 1, #flat, 2 do
      local field = flat[j]
      if totals[field] == nil then
        totals[field] = 0
        order[#order + 1] = field
      end
      totals[field] = totals[field] + tonumber(flat[j + 1])
    end
  end
  local group = {}
  for _, field in ipairs(order) do
    local value = totals[field]
    group[#group + 1] = field
    group[#group + 1] = value == math.floor(value) and string.format('%d', value)
      or string.format('%.17g', value)
  end
  answers[#answers + 1] = group
  next_key = next_key + tonumber(size)
end
return answers
