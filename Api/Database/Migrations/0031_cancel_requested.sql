-- `admin user disable --cancel-pending` (SPEC §7) on a message whose provider call may be under way, or that is held to
-- reconcile such a call (SPEC §5): it cannot be cancelled yet (the provider may have taken it, and a status may still
-- adopt it), so the command marks it instead and brings its expiry forward to that moment. When its call or hold ends
-- unadopted, the sweep's expiry ends it, as `cancelled` for a marked message. The mark is on the message, so enabling
-- the user again does not undo the cancellation.
ALTER TABLE messages ADD COLUMN cancel_requested_at timestamptz;
