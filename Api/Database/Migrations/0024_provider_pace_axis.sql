-- The schedule's slots are positions on its own axis, which a 130429 slows down (Dispatcher/Sending/PaceSchedule.cs):
-- where the axis stood at the last cut anchors it. A row written before this knows no such anchor, so the schedule
-- starts afresh (it is unlogged and starts afresh after a crash anyway).
TRUNCATE provider_pace;
ALTER TABLE provider_pace ADD COLUMN throttled_slot timestamptz NOT NULL DEFAULT 'epoch';
