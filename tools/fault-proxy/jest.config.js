module.exports = { ...require('../../jest.preset.js'), displayName: 'fault-proxy', rootDir: __dirname };
