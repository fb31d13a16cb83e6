-- Argo CD health check for kopfka.dev/KafkaCluster; the states are explained in docs/gitops.md.
--
-- Argo CD sets the live object as the global `obj` and shows the `hs` this chunk returns. Scripts
-- registered in argocd-cm get only Lua's base and table libraries (no `string`) unless useOpenLibs
-- is set, so this one needs nothing else. Any field may be missing or of another type: every
-- lookup checks what it steps into, and the script never raises.
local hs = {}

-- Reasons kopfka gives a reconcile that could not act on the spec (RECONCILE_FAILURES in
-- operator/kopfka/model/status.py); kopfka sets Degraded=True with them as well.
local RECONCILE_FAILURES = {
  InvalidSpec = true,
  ApplyFailed = true,
  InternalError = true,
  ObjectNotOwned = true,
  ScaleDownRefused = true,
  ClusterIdConflict = true,
  VersionDowngradeRefused = true,
  ClusterCaNotFound = true,
  ClusterCaInvalid = true,
  ClientsCaNotFound = true,
  ClientsCaInvalid = true,
  CertificatesNotApplied = true,
  CertificatesPending = true,
}

-- kopfka pauses on the annotation value "true" in any letter case. Without the string library
-- there is no lower(): the sixteen spellings are made by combining the cases of each letter.
local TRUE_SPELLINGS = {}
for _, t in ipairs({"t", "T"}) do
  for _, r in ipairs({"r", "R"}) do
    for _, u in ipairs({"u", "U"}) do
      for _, e in ipairs({"e", "E"}) do
        TRUE_SPELLINGS[t .. r .. u .. e] = true
      end
    end
  end
end

-- value[k1][k2]..., or nil as soon as a step is not a table.
local function get(value, ...)
  for i = 1, select("#", ...) do
    if type(value) ~= "table" then
      return nil
    end
    value = value[select(i, ...)]
  end
  return value
end

local function text(value)
  if type(value) == "string" then
    return value
  end
  if type(value) == "number" or type(value) == "boolean" then
    return tostring(value)
  end
  return ""
end

local function number(value)
  if type(value) == "number" then
    return value
  end
  return nil
end

local function condition(kind)
  local conditions = get(obj, "status", "conditions")
  if type(conditions) ~= "table" then
    return nil
  end
  for _, item in ipairs(conditions) do
    if type(item) == "table" and item.type == kind then
      return item
    end
  end
  return nil
end

-- "Reason: message", or whichever of them there is.
local function describe(found)
  local reason, message = text(get(found, "reason")), text(get(found, "message"))
  if reason ~= "" and message ~= "" then
    return reason .. ": " .. message
  end
  if reason ~= "" then
    return reason
  end
  return message
end

-- Why the status does not describe the current spec yet, or nil when it does.
local function stale(generation, observed)
  if generation == nil then
    return nil
  end
  if observed == nil then
    return "waiting for the operator to reconcile generation " .. generation
  end
  if observed < generation then
    return "waiting for the operator to reconcile generation " .. generation
      .. " (status describes generation " .. observed .. ")"
  end
  return nil
end

local function assess()
  local generation = number(get(obj, "metadata", "generation"))
  local status = get(obj, "status")
  local ready = condition("Ready")
  local reconciling = condition("Reconciling")

  local annotation = get(obj, "metadata", "annotations", "kopfka.dev/paused")
  local pause_requested = TRUE_SPELLINGS[text(annotation)] == true
  local pause_reported = get(reconciling, "status") == "False"
    and get(reconciling, "reason") == "Paused"
  -- A paused cluster does not record new generations as observed: check it before staleness.
  if pause_requested and pause_reported then
    local message = text(get(reconciling, "message"))
    if ready ~= nil then
      message = message .. "; last observed: " .. describe(ready)
    end
    return "Suspended", message
  end
  if pause_requested then
    return "Progressing", "waiting for the operator to pause reconciliation"
  end

  if type(status) ~= "table" or next(status) == nil then
    return "Progressing", "waiting for the operator to report a status"
  end
  local waiting = stale(generation, number(status.observedGeneration))
  if waiting ~= nil then
    return "Progressing", waiting
  end
  if pause_reported then
    return "Progressing", "waiting for the operator to resume reconciliation"
  end

  local degraded = condition("Degraded")
  if get(degraded, "status") == "True" then
    return "Degraded", describe(degraded)
  end
  if ready == nil then
    return "Progressing", "waiting for the operator to report the Ready condition"
  end
  waiting = stale(generation, number(ready.observedGeneration) or number(status.observedGeneration))
  if waiting ~= nil then
    return "Progressing", waiting
  end
  if ready.status == "True" then
    return "Healthy", text(ready.message)
  end
  if ready.status == "False" then
    if RECONCILE_FAILURES[text(ready.reason)] then
      return "Degraded", describe(ready)
    end
    -- PodsNotReady, RestartPending, and any reason this script does not know: kopfka reports
    -- failures with Degraded=True (checked above), so anything else is work still under way.
    return "Progressing", describe(ready)
  end
  local value = text(ready.status)
  if value == "" then
    value = "unset"
  end
  return "Unknown", "Ready is " .. value .. ": " .. describe(ready)
end

hs.status, hs.message = assess()
return hs
