import {
  ApplicationCommandOptionType,
  Client,
  Events,
  GatewayIntentBits,
  Partials,
  type ChatInputCommandInteraction,
  type MessageMentionOptions,
} from 'discord.js';
import { PermanentAdapterError, type AdapterContext, type RunningAdapter } from '../../src/adapter.ts';
import type { Delivery } from '../../src/events.ts';
import { checkedDeliver } from '../shared/deliveryIds.ts';
import { createDispatcher } from '../shared/dispatch.ts';
import { describeError, redactedError, redactor } from '../shared/redact.ts';
import { splitMessage } from '../shared/split.ts';
import { standaloneFaults } from '../shared/supervise.ts';
import { interactionToIncoming, messageToIncoming } from './translate.ts';

export const DISCORD_MAX_MESSAGE = 2000;
/** Generated text may contain "@everyone" or "<@&role>": only the asker (through the reply) may ever be pinged. */
const NO_PINGS: MessageMentionOptions = { parse: [], repliedUser: true };
/** Interaction tokens stay valid for 15 minutes. */
const INTERACTION_TTL_MS = 14 * 60_000;

export interface DiscordOptions {
  token: string;
  /** REST base such as "http://127.0.0.1:8080/api" (a REST proxy); the gateway URL is then fetched from it. */
  apiRoot?: string;
  /** Register the /kuakua slash command at start. */
  registerSlashCommand?: boolean;
}

export async function startDiscordAdapter(ctx: AdapterContext & DiscordOptions): Promise<RunningAdapter> {
  const { core, token, apiRoot, registerSlashCommand = true } = ctx;
  const redact = redactor(token);
  const logger = ctx.logger.child({ adapter: 'discord' });
  const faults = ctx.faults ?? standaloneFaults(logger);
  const client = new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent, GatewayIntentBits.DirectMessages],
    partials: [Partials.Channel],
    allowedMentions: NO_PINGS,
    ...(apiRoot ? { rest: { api: apiRoot } } : {}),
  });
  const interactions = new Map<string, { interaction: ChatInputCommandInteraction; expires: number }>();

  const deliverToInteraction = async (interaction: ChatInputCommandInteraction, chunks: string[]) => {
    const [first = '', ...rest] = chunks;
    await interaction.editReply({ content: first, allowedMentions: NO_PINGS });
    for (const chunk of rest) await interaction.followUp({ content: chunk, allowedMentions: NO_PINGS });
  };

  const deliver = checkedDeliver('discord', logger, async (d: Delivery) => {
    const chunks = splitMessage(d.text, DISCORD_MAX_MESSAGE);
    const pending = interactions.get(d.replyToMessageId);
    if (pending) {
      interactions.delete(d.replyToMessageId);
      return deliverToInteraction(pending.interaction, chunks);
    }
    const channel = await client.channels.fetch(d.chatId);
    if (!channel?.isSendable()) throw new Error(`discord channel ${d.chatId} is not a text channel the bot can send to`);
    // Same request as message.reply(), but works when the asked message is no longer cached (other process, restart).
    for (const [i, chunk] of chunks.entries()) {
      await channel.send({
        content: chunk,
        allowedMentions: NO_PINGS,
        ...(i === 0 ? { reply: { messageReference: d.replyToMessageId, failIfNotExists: false } } : {}),
      });
    }
  });

  const dispatcher = createDispatcher({ core, logger, deliver, redact });

  client.on(Events.MessageCreate, (message) => {
    if (!client.user) return;
    try {
      dispatcher.submit(messageToIncoming(message, client.user.id));
    } catch (err) {
      // A listener that throws would surface inside discord.js's event dispatch; one odd message must not do that.
      logger.warn({ messageId: message.id, err: describeError(err, redact) }, 'could not read a discord message');
    }
  });

  client.on(Events.InteractionCreate, (interaction) => {
    if (!interaction.isChatInputCommand() || interaction.commandName !== 'kuakua') return;
    const now = Date.now();
    for (const [id, p] of interactions) if (p.expires < now) interactions.delete(id);
    // Discord needs an answer within 3 s and the praise takes longer: acknowledge now, edit the reply when it comes.
    interaction
      .deferReply()
      .then(() => {
        interactions.set(interaction.id, { interaction, expires: now + INTERACTION_TTL_MS });
        dispatcher.submit(interactionToIncoming(interaction), async () => {
          interactions.delete(interaction.id);
          await interaction.deleteReply();
        });
      })
      .catch((err: unknown) => logger.warn({ err: describeError(err, redact) }, 'could not acknowledge /kuakua'));
  });

  client.on(Events.Error, (err) => faults.warn(redactedError(err, redact), 'discord client error'));
  client.on(Events.ShardError, (err) => faults.warn(redactedError(err, redact), 'discord gateway error'));
  let stopping = false;
  client.on(Events.ShardReconnecting, () => {
    if (!stopping) logger.warn('discord gateway connection lost, reconnecting');
  });
  client.on(Events.ShardResume, (_id, replayed) => logger.info({ replayed }, 'discord gateway session resumed'));
  // discord.js gives up on the gateway (an invalid session it cannot resume, a close code it does not retry): start over.
  client.on(Events.ShardDisconnect, (event) => {
    if (!stopping) faults.fault(new Error(`discord gateway closed for good (close code ${event.code})`));
  });

  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  try {
    await client.login(token);
  } catch (err) {
    await client.destroy();
    const text = err instanceof Error ? `${String((err as { code?: unknown }).code)} ${err.message}` : String(err);
    if (/TokenInvalid|401/.test(text)) throw new PermanentAdapterError('Discord rejected DISCORD_TOKEN (401)');
    if (/disallowed intents/i.test(text)) {
      throw new PermanentAdapterError('Discord refused the Message Content intent: enable it in the Developer Portal (Bot → Privileged Gateway Intents)');
    }
    throw new Error(`Discord login failed: ${redact(text)}`);
  }
  await ready;
  core.onDelivery('discord', deliver);

  if (registerSlashCommand) {
    await client.application?.commands
      .set([
        {
          name: 'kuakua',
          description: '求夸：说说你想被夸的事',
          options: [{ type: ApplicationCommandOptionType.String, name: 'text', description: '想被夸的事', required: true, maxLength: 1000 }],
        },
      ])
      .catch((err: unknown) => logger.warn({ err: describeError(err, redact) }, 'could not register the /kuakua slash command'));
  }
  logger.info({ user: client.user?.tag }, 'discord adapter started');

  return {
    name: 'discord',
    async stop() {
      stopping = true;
      await dispatcher.drain();
      await client.destroy();
    },
  };
}
