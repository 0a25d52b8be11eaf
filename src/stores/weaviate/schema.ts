// The four Weaviate collections of PRISM: their properties, their TypeScript shapes, and the text each
// object is embedded from. Vectors are always supplied by us (vectorizer "none"): the server has no
// vectorizer modules, and one embedding path for every deployment keeps stored vectors comparable.

export const documentTypes = ['RESEARCH_PAPER', 'MANUAL', 'GUIDELINE', 'FAQ'] as const;
export type DocumentType = (typeof documentTypes)[number];

export const memoryTypes = ['SHORT_TERM', 'LONG_TERM', 'EPISODIC'] as const;
export type MemoryType = (typeof memoryTypes)[number];

export type ExternalKnowledge = {
  title: string;
  content: string;
  documentType: DocumentType;
  source?: string;
  /** JSON text: free-form attributes of the document (authors, revision, ...). */
  metadata?: string;
  createdAt: Date;
  accessCount: number;
};

export type AgentMemory = {
  memoryType: MemoryType;
  content: string;
  context?: string;
  /** 0 (forgettable) to 1 (essential). */
  importance: number;
  createdAt: Date;
  lastAccessedAt: Date;
  taskId?: string;
};

export type InstructionTemplate = {
  agentType: string;
  name: string;
  original: string;
  rewritten: string;
  /** 0 to 1: the share of tasks that succeeded with the rewritten instruction. */
  successRate: number;
};

export type ManufacturingKnowledge = {
  processName: string;
  description: string;
  /** JSON text: the process parameters and their ranges. */
  parameters?: string;
  constraints: string[];
  bestPractices: string[];
  troubleshooting: string[];
};

export type CollectionShapes = {
  ExternalKnowledge: ExternalKnowledge;
  AgentMemory: AgentMemory;
  InstructionTemplate: InstructionTemplate;
  ManufacturingKnowledge: ManufacturingKnowledge;
};
export type CollectionName = keyof CollectionShapes;

export type PropertySpec = {
  name: string;
  dataType: 'text' | 'text[]' | 'int' | 'number' | 'date' | 'boolean';
  description: string;
  /** `field` keeps the whole value as one token: right for enums and ids matched exactly. */
  tokenization?: 'word' | 'field';
  indexSearchable?: boolean;
  indexFilterable?: boolean;
  indexRangeFilters?: boolean;
};

export type CollectionSpec<P> = {
  name: CollectionName;
  description: string;
  /** One tenant per agent: an agent's objects are invisible to every other tenant. */
  multiTenant: boolean;
  properties: PropertySpec[];
  /** The text an object's vector is computed from. */
  embeddingText: (properties: P) => string;
};

const enumText = (name: string, description: string): PropertySpec => ({
  name,
  dataType: 'text',
  description,
  tokenization: 'field',
});
// JSON blobs stay out of BM25: their keys and punctuation would match unrelated keyword queries.
const jsonText = (name: string, description: string): PropertySpec => ({
  name,
  dataType: 'text',
  description,
  indexSearchable: false,
  indexFilterable: false,
});
const date = (name: string, description: string): PropertySpec => ({
  name,
  dataType: 'date',
  description,
  indexRangeFilters: true,
});

export const externalKnowledgeSpec: CollectionSpec<ExternalKnowledge> = {
  name: 'ExternalKnowledge',
  description: 'Documents from outside the plant: research papers, manuals, guidelines, FAQs',
  multiTenant: false,
  properties: [
    { name: 'title', dataType: 'text', description: 'Title of the document' },
    { name: 'content', dataType: 'text', description: 'Text of the document (or of one chunk of it)' },
    enumText('documentType', `One of ${documentTypes.join(', ')}`),
    enumText('source', 'Where the document came from: URL, file name or publisher'),
    jsonText('metadata', 'JSON text with free-form attributes'),
    date('createdAt', 'When the document was ingested'),
    { name: 'accessCount', dataType: 'int', description: 'How often agents retrieved it' },
  ],
  embeddingText: (p) => `${p.title}\n${p.content}`,
};

export const agentMemorySpec: CollectionSpec<AgentMemory> = {
  name: 'AgentMemory',
  description: 'What each agent remembers; one tenant per agent',
  multiTenant: true,
  properties: [
    enumText('memoryType', `One of ${memoryTypes.join(', ')}`),
    { name: 'content', dataType: 'text', description: 'What is remembered' },
    { name: 'context', dataType: 'text', description: 'The situation in which it was learnt' },
    { name: 'importance', dataType: 'number', description: '0 to 1', indexRangeFilters: true },
    date('createdAt', 'When the memory was formed'),
    date('lastAccessedAt', 'When the memory was last recalled'),
    enumText('taskId', 'The task that produced the memory'),
  ],
  embeddingText: (p) => (p.context ? `${p.content}\n${p.context}` : p.content),
};

export const instructionTemplateSpec: CollectionSpec<InstructionTemplate> = {
  name: 'InstructionTemplate',
  description: 'Instruction rewrites per agent type and how well they worked',
  multiTenant: false,
  properties: [
    enumText('agentType', 'The agent type the instruction is for'),
    { name: 'name', dataType: 'text', description: 'Name of the template' },
    { name: 'original', dataType: 'text', description: 'The instruction as a user wrote it' },
    { name: 'rewritten', dataType: 'text', description: 'The instruction as rewritten for the agent' },
    { name: 'successRate', dataType: 'number', description: '0 to 1', indexRangeFilters: true },
  ],
  embeddingText: (p) => `${p.name}\n${p.original}`,
};

export const manufacturingKnowledgeSpec: CollectionSpec<ManufacturingKnowledge> = {
  name: 'ManufacturingKnowledge',
  description: 'Process knowledge: parameters, constraints, best practices, troubleshooting',
  multiTenant: false,
  properties: [
    { name: 'processName', dataType: 'text', description: 'Name of the process, e.g. CNC milling' },
    { name: 'description', dataType: 'text', description: 'What the process does and how' },
    jsonText('parameters', 'JSON text with the process parameters and their ranges'),
    { name: 'constraints', dataType: 'text[]', description: 'Limits the process must respect' },
    { name: 'bestPractices', dataType: 'text[]', description: 'Proven ways of running the process' },
    { name: 'troubleshooting', dataType: 'text[]', description: 'Known faults and their remedies' },
  ],
  embeddingText: (p) =>
    [p.processName, p.description, ...p.constraints, ...p.bestPractices, ...p.troubleshooting].join('\n'),
};

export const collectionSpecs = {
  ExternalKnowledge: externalKnowledgeSpec,
  AgentMemory: agentMemorySpec,
  InstructionTemplate: instructionTemplateSpec,
  ManufacturingKnowledge: manufacturingKnowledgeSpec,
} satisfies { [N in CollectionName]: CollectionSpec<CollectionShapes[N]> };

/**
 * The Weaviate name of a collection. A prefix (e.g. `Test_ab12_`) gives a test or a second deployment
 * its own copies on the same server.
 */
export function collectionName(name: CollectionName, prefix = ''): string {
  if (prefix !== '' && !/^[A-Z][A-Za-z0-9_]*$/.test(prefix)) {
    throw new Error(
      `Weaviate collection prefix "${prefix}" is invalid: start with a capital letter and use only letters, digits and _`,
    );
  }
  return `${prefix}${name}`;
}
