import { describe, expect, it } from 'vitest';
import { modelOfEntry, workerModelsSelect } from './worker-models.js';

describe('workerModelsSelect', () => {
  it('empty selects every model; a name every version; name:version that version', () => {
    expect(workerModelsSelect([], 'mlp', 1)).toBe(true);
    expect(workerModelsSelect(['mlp'], 'mlp', 3)).toBe(true);
    expect(workerModelsSelect(['penguins:2'], 'penguins', 2)).toBe(true);
    expect(workerModelsSelect(['penguins:2'], 'penguins', 1)).toBe(false);
    expect(workerModelsSelect(['mlp'], 'mlp2', 1)).toBe(false);
  });
  it('without a version: whether any version of the model is selected', () => {
    expect(workerModelsSelect(['penguins:2'], 'penguins')).toBe(true);
    expect(workerModelsSelect(['mlp'], 'penguins')).toBe(false);
    expect(workerModelsSelect(['mlp:1'], 'ml')).toBe(false);
  });
});

describe('modelOfEntry', () => {
  it('names the model of either spelling', () => {
    expect(modelOfEntry('mlp')).toBe('mlp');
    expect(modelOfEntry('mlp:2')).toBe('mlp');
  });
});
