-- Prelude shared by the scripts that re-add a stream entry (stream_scripts.py
-- prepends it to them): split an entry's flat field list into the fields to
-- copy and the deliveries recorded in it so far.
--
-- An entry may hold any number of fields (anyone can XADD to the stream), but
-- Lua passes at most ~8,000 values to one redis.call. So at most
-- MAX_COPIED_FIELDS fields are copied; the rest are dropped and counted in a
-- 'dropped_fields' field. data, task_id and task_name are always copied: a
-- dead letter keeps its payload however the entry is shaped.
local MAX_COPIED_FIELDS = 1000
local ALWAYS_COPIED = {data = true, task_id = true, task_name = true}

-- Fields of `source` without 'deliveries' and without the names in `skip`
-- (a set, or nil), capped as above; and the deliveries recorded so far.
local function copied_fields(source, skip)
    local fields = {}
    local before = 0
    local copied = 0
    local dropped = 0
    for j = 1, #source - 1, 2 do
        local name = source[j]
        if name == 'deliveries' then
            before = tonumber(source[j + 1]) or 0
        elseif not (skip and skip[name]) then
            if copied < MAX_COPIED_FIELDS or ALWAYS_COPIED[name] then
                table.insert(fields, name)
                table.insert(fields, source[j + 1])
                copied = copied + 1
            else
                dropped = dropped + 1
            end
        end
    end
    if dropped > 0 then
        table.insert(fields, 'dropped_fields')
        table.insert(fields, dropped)
    end
    return fields, before
end

local function without_deliveries(source)
    return copied_fields(source, nil)
end
