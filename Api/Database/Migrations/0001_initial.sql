-- Users, keys, templates, grants and messages.

-- Declaration order is the lifecycle order (SPEC §4): comparisons such as status < 'DELIVERED' rely on it. ERROR sorts
-- last, so "moves forward only" (current < new) never leaves ERROR.
CREATE TYPE message_status AS ENUM ('UNSENT', 'ACCEPTED', 'SENT', 'DELIVERED', 'READ', 'ERROR');

CREATE TABLE users (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email                 text        NOT NULL UNIQUE,
    agency                text        NOT NULL,
    rate_limit_per_second integer     NOT NULL DEFAULT 10 CHECK (rate_limit_per_second > 0),
    default_wait_seconds  integer     NOT NULL DEFAULT 0 CHECK (default_wait_seconds BETWEEN 0 AND 10),
    message_validity      interval    NOT NULL DEFAULT interval '24 hours' CHECK (message_validity > interval '0'),
    created_at            timestamptz NOT NULL,
    disabled_at           timestamptz
);

CREATE TABLE api_keys (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint      NOT NULL REFERENCES users (id),
    -- The public part of the key, used to find the row; the secret part is only ever stored as a keyed hash.
    key_id       text        NOT NULL UNIQUE,
    secret_hash  bytea       NOT NULL,
    label        text        NOT NULL,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    valid_until  timestamptz NOT NULL,
    revoked_at   timestamptz,
    disabled_at  timestamptz
);
CREATE INDEX api_keys_user_id ON api_keys (user_id);

CREATE TABLE templates (
    id                     bigint PRIMARY KEY,
    name                   text        NOT NULL,
    -- The name WhatsApp approved; sent to the provider, never shown to agencies.
    whatsapp_template_name text        NOT NULL,
    body                   text        NOT NULL,
    params                 text[]      NOT NULL,
    param_metadata         jsonb       NOT NULL DEFAULT '{}',
    -- language_code -> body for the languages besides en_GB (whose body is `body`).
    translations           jsonb       NOT NULL DEFAULT '{}',
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL
);

CREATE TABLE template_grants (
    user_id     bigint      NOT NULL REFERENCES users (id),
    template_id bigint      NOT NULL REFERENCES templates (id),
    granted_at  timestamptz NOT NULL,
    PRIMARY KEY (user_id, template_id)
);

CREATE TABLE messages (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id                bigint         NOT NULL REFERENCES users (id),
    template_id            bigint         NOT NULL REFERENCES templates (id),
    recipient              text           NOT NULL,
    params                 jsonb          NOT NULL,
    language_code          text           NOT NULL,
    -- What the provider call needs, fixed at acceptance so later template edits never change a message.
    whatsapp_template_name text           NOT NULL,
    param_order            text[]         NOT NULL,
    status                 message_status NOT NULL DEFAULT 'UNSENT',
    created_at             timestamptz    NOT NULL,
    updated_at             timestamptz    NOT NULL,
    accepted_at            timestamptz,
    sent_at                timestamptz,
    delivered_at           timestamptz,
    read_at                timestamptz,
    errored_at             timestamptz,
    error_code             text,
    error_description      text,
    provider_message_id    text,
    idempotency_key        text,
    request_hash           bytea,
    expires_at             timestamptz    NOT NULL,
    -- Dispatch bookkeeping (meaningful while UNSENT):
    --   available_at  a dispatcher may claim the message from this time on (claim lease end, retry backoff end);
    --   sweep_at      if still UNSENT then, its command is (re-)published by the sweeper;
    --   attempts / first_attempt_at / last_error  for the retry budget and the final error description.
    available_at           timestamptz    NOT NULL,
    sweep_at               timestamptz    NOT NULL,
    attempts               integer        NOT NULL DEFAULT 0,
    first_attempt_at       timestamptz,
    last_error             text
);

CREATE INDEX messages_user_created ON messages (user_id, created_at DESC, id DESC);
CREATE UNIQUE INDEX messages_provider_message_id ON messages (provider_message_id)
    WHERE provider_message_id IS NOT NULL;
CREATE UNIQUE INDEX messages_idempotency_key ON messages (user_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
-- Small by construction: only messages still waiting for the provider are in these.
CREATE INDEX messages_unsent_sweep ON messages (sweep_at) WHERE status = 'UNSENT';
CREATE INDEX messages_unsent_expiry ON messages (expires_at) WHERE status = 'UNSENT';
