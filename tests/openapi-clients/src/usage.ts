// What an agency engineer writes against the generated types: if the document stops describing the Api correctly
// (a field's optionality, an enum, a header, a timestamp), this stops compiling under `strict`.
import createClient from "openapi-fetch";
import type { components, paths } from "../generated/schema";

type Message = components["schemas"]["MessageResponse"];
type ErrorBody = components["schemas"]["ErrorBody"];
type Status = Message["status"];

export function govsgClient(baseUrl: string, apiKey: string) {
  return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${apiKey}` } });
}

type Client = ReturnType<typeof govsgClient>;

function fail(error: ErrorBody): never {
  const code: ErrorBody["code"] = error.code;
  throw new Error(`${code}: ${error.message}`);
}

export async function sendWithoutOptionalFields(client: Client, recipient: string): Promise<Message> {
  const { data, error } = await client.POST("/v1/transactional/govsg/send", { body: { recipient, template_id: 3 } });
  return error ? fail(error) : data;
}

export async function sendWithEverything(client: Client, recipient: string, key: string): Promise<Message> {
  const { data, error, response } = await client.POST("/v1/transactional/govsg/send", {
    params: { header: { "Idempotency-Key": key, Prefer: "wait=5" } },
    body: {
      recipient,
      template_id: 2,
      params: { venue: "ICA Building", date: "1 May", time: "10 AM", reference: "A-1" },
      language_code: "zh_CN",
    },
  });
  if (error) {
    return fail(error);
  }
  const replayed: boolean = response.headers.get("Idempotency-Replayed") === "true";
  return replayed ? data : { ...data };
}

export async function read(client: Client, messageId: string): Promise<Date | null> {
  const { data, error } = await client.GET("/v1/transactional/govsg/{messageId}", { params: { path: { messageId } } });
  if (error) {
    return fail(error);
  }
  const accepted: string | null = data.accepted_at;
  return accepted === null ? null : new Date(accepted);
}

export async function listAccepted(client: Client, since: string): Promise<Message[]> {
  const status: Status = "ACCEPTED";
  const { data, error } = await client.GET("/v1/transactional/govsg", {
    params: { query: { limit: 100, offset: 0, status, "created_at[gte]": since, sort_by: "-created_at" } },
  });
  return error ? fail(error) : data.has_more ? data.data.slice(0, 100) : data.data;
}

export async function templateLanguages(client: Client): Promise<string[]> {
  const { data, error } = await client.GET("/v1/govsg/templates");
  if (error) {
    return fail(error);
  }
  return data.data.flatMap((template) => template.multilingual_support.map((language) => language.language_code));
}

export async function createKeyWithOnlyALabel(client: Client): Promise<string> {
  const { data, error } = await client.POST("/v1/api-keys", { body: { label: "booking system" } });
  if (error) {
    return fail(error);
  }
  const type: "live" | "test" = data.type;
  return `${type}:${data.key}`;
}

export async function rejectsWrongTypes(client: Client, recipient: string): Promise<void> {
  // @ts-expect-error: language codes are an enum
  await client.POST("/v1/transactional/govsg/send", { body: { recipient, template_id: 3, language_code: "fr" } });
  // @ts-expect-error: template_id is required
  await client.POST("/v1/transactional/govsg/send", { body: { recipient } });
}
