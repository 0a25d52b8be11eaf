import type { AgentType } from '../task/index.ts';

/** Parameters each reference agent needs, matching the demo data set (`prism provision --demo`). */
export function benchParameters(type: AgentType | string, machine = 'cnc-02'): Record<string, unknown> {
  if (type === 'CONTROL') return { parameter: 'spindle_speed_rpm', setpoint: 9000, machine };
  if (type === 'ANALYSIS') return {};
  return { machine, sensorType: 'spindle_temperature_c', since: '-1h' };
}
