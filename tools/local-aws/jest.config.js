module.exports = { ...require('../../jest.preset.js'), displayName: 'local-aws', rootDir: __dirname };
