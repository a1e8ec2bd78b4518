// A stage is used together with what it is made of: `import Pipeline` brings in the engine, the models and the
// data files too.
@_exported import DataFiles
@_exported import Models
@_exported import TensorEngine
