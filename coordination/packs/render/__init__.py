"""The pack renderers: pure functions of one ``PackContent`` snapshot, one module per format."""
