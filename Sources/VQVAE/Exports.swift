// The toolkit is used together with its engine: `import VQVAE` brings in tensors, layers and optimisers too.
@_exported import TensorEngine
