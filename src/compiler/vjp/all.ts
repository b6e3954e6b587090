// Registers every VJP rule; importing this module once fills the registry.
import './elementwise.js';
import './matmul.js';
import './shape-ops.js';
import './reduce.js';
import './indexing.js';
import './nn.js';
