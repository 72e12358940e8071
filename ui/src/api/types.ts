// Names for the API's schemas, generated from its OpenAPI document into schema.d.ts
// (`npx openapi-typescript http://127.0.0.1:8000/openapi.json -o src/api/schema.d.ts`).
import type { components } from './schema';

type S = components['schemas'];
export type BotView = S['BotView'];
export type BotStatus = S['BotStatus'];
export type BotConfigInput = S['BotConfigInput'];
export type StoredBotConfig = S['StoredBotConfig'];
export type CommandResponse = S['CommandResponse'];
export type TradeView = S['TradeView'];
export type TradePage = S['TradePage'];
export type PnlReport = S['PnlReport'];
export type PnlSummary = S['PnlSummary'];
export type Position = S['Position'];
export type MarketStatus = S['MarketStatus'];
export type BarsPage = S['BarsPage'];
export type BarPoint = S['BarPoint'];
export type TimelineItem = S['TimelineItem'];
export type TimelinePage = S['TimelinePage'];
export type BotState = S['BotState'];
export type EquityCurve = S['EquityCurve'];
export type FeedStatus = S['FeedStatusResponse'];
export type ReplayRequest = S['ReplayRequest'];
export type BacktestCreate = S['BacktestCreate'];
export type BacktestAccepted = S['BacktestAccepted'];
export type BacktestItem = S['BacktestItem'];
export type BacktestDetail = S['BacktestDetail'];
export type BacktestStatus = S['BacktestStatus'];
export type BacktestBotSummary = S['BotSummary'];
export type ErrorDetail = S['ErrorDetail'];
export type Side = S['Side'];
