// Protocol codec generator.
//   npx tsx broker/protocol/generator/generate.ts <schemaDir> [outDir]
//   npm run generate:protocol -- <schemaDir> [outDir]
// <schemaDir> holds Kafka's message schemas (clients/src/main/resources/common/message/*.json).
// outDir defaults to broker/protocol/generated (found next to this folder, whatever the working
// directory). Files there that carry the generated-file mark are replaced; nothing else is touched.

import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXTRA_MODULES, SELECTED_APIS, moduleName } from './apis.ts';
import { type ApiModule, GENERATED_MARK, emitIndexModule, emitMessagesModule, emitSchemasModule } from './emit-modules.ts';
import { type MessageSpec, loadMessage } from './schema.ts';

function loadApis(schemaDir: string): ApiModule[] {
  return SELECTED_APIS.map((api) => {
    const request = loadMessage(schemaDir, `${api.name}Request`);
    const response = loadMessage(schemaDir, `${api.name}Response`);
    for (const message of [request, response]) {
      if (message.apiKey !== api.apiKey) {
        throw new Error(`${message.name}: apiKey ${message.apiKey} in the schema, ${api.apiKey} in SELECTED_APIS`);
      }
    }
    return { api, module: moduleName(api.name), request, response };
  });
}

function removeStaleGeneratedFiles(outDir: string): void {
  for (const name of readdirSync(outDir)) {
    if (!name.endsWith('.ts')) continue;
    const path = join(outDir, name);
    if (readFileSync(path, 'utf8').startsWith(GENERATED_MARK)) rmSync(path);
  }
}

function main(argv: string[]): void {
  const [schemaDirArg, outDirArg] = argv;
  if (!schemaDirArg) {
    process.stderr.write('usage: generate.ts <schemaDir> [outDir]   (outDir defaults to broker/protocol/generated)\n');
    process.exit(2);
  }
  const schemaDir = resolve(schemaDirArg);
  const outDir = outDirArg ? resolve(outDirArg) : fileURLToPath(new URL('../generated', import.meta.url));

  const apis = loadApis(schemaDir);
  const extras = EXTRA_MODULES.map((extra) => ({
    module: extra.module,
    messages: extra.messages.map((name) => loadMessage(schemaDir, name)),
  }));

  const files = new Map<string, string>();
  for (const { module, request, response } of apis) files.set(`${module}.ts`, emitMessagesModule([request, response]));
  for (const { module, messages } of extras) files.set(`${module}.ts`, emitMessagesModule(messages));
  files.set('index.ts', emitIndexModule(apis, extras.map((e) => e.module)));
  const allMessages: MessageSpec[] = [...apis.flatMap((a) => [a.request, a.response]), ...extras.flatMap((e) => e.messages)];
  files.set('schemas.ts', emitSchemasModule(allMessages));

  mkdirSync(outDir, { recursive: true });
  removeStaleGeneratedFiles(outDir);
  for (const [name, text] of files) writeFileSync(join(outDir, name), text);
  process.stdout.write(`generated ${files.size} files (${allMessages.length} messages) in ${outDir}\n`);
}

main(process.argv.slice(2));
