// Starts kinesalite through its programmatic API, bound to 127.0.0.1 only (its CLI binds
// every interface), with streams ACTIVE at once, and prints the address the way Spate does.
// Usage: node kinesalite-serve.js NODE_MODULES_DIR [EXIT_AFTER_SECONDS]
'use strict'
const path = require('path')
const kinesalite = require(path.resolve(process.argv[2], 'kinesalite'))
const exitAfter = Number(process.argv[3] || 3600)

const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 20000 })
server.listen(0, '127.0.0.1', () => {
  console.log('listening on http://127.0.0.1:' + server.address().port)
})
// Stop by itself if whoever started it forgets to.
setTimeout(() => process.exit(0), exitAfter * 1000).unref()
