-- The trace context (W3C traceparent) of the provider call that was accepted, so the statuses the provider later
-- reports on that call link their trace to the send's (SPEC §9.1). NULL when the call was not traced.
ALTER TABLE messages ADD COLUMN send_trace text;
