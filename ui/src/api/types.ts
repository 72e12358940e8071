// Names for the API's schemas, generated from its OpenAPI document into schema.d.ts
// (`npm run gen:api` against a running server; OPENBELL_API picks another than :8000).
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
