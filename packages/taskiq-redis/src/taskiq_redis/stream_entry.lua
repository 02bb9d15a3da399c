-- Prelude shared by the scripts that re-add a stream entry (stream_scripts.py
-- prepends it to them): split an entry's flat field list into its fields
-- without 'deliveries', and the deliveries recorded in it so far.
local function without_deliveries(source)
    local fields = {}
    local before = 0
    for j = 1, #source, 2 do
        if source[j] == 'deliveries' then
            before = tonumber(source[j + 1]) or 0
        else
            table.insert(fields, source[j])
            table.insert(fields, source[j + 1])
        end
    end
    return fields, before
end
