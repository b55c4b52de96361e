export interface DingtalkOptions {
  /** The app's Client ID (AppKey). */
  clientId: string;
  /** The app's Client Secret (AppSecret): never logged. */
  clientSecret: string;
  /** POST endpoint that opens a stream connection (tests point it at a local fake). */
  gatewayUrl: string;
  /** Origins a message's sessionWebhook may point at; anything else is untrusted and not posted to. */
  webhookOrigins: string[];
  /** A ws ping this often; a connection that has not answered the last one is closed and opened again. */
  heartbeatMs?: number;
}
