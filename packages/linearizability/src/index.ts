// @x/linearizability: A history format, recorder and linearizability checker in the style of Wing-Gong-Lowe and Porcupine.
export {};
