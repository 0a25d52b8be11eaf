// The reference agents of the four spec types, so that a fresh install runs the whole flow.
import type { AgentType } from '../../task/index.ts';
import type { AgentDefinition } from '../types.ts';
import { analysisAgent } from './analysis.ts';
import { controlAgent } from './control.ts';
import { monitoringAgent } from './monitoring.ts';
import { predictionAgent } from './prediction.ts';

export const referenceAgents: Record<AgentType, AgentDefinition> = {
  MONITORING: monitoringAgent,
  PREDICTION: predictionAgent,
  CONTROL: controlAgent,
  ANALYSIS: analysisAgent,
};

export { analysisAgent, controlAgent, monitoringAgent, predictionAgent };
