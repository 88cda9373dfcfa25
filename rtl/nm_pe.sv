// nm_pe: one processing element with P multipliers and run-time N:M modes (output stationary).
//
// Modes (NUM_MODES = 0: a dense-only PE): in_mode = 0 is dense (multiplier j takes activation lane j); in_mode = i + 1 is sparse
// mode i, with n_i = MODE_N[8*i +: 8] kept values per group of m_i = MODE_M[8*i +: 8]. A sparse
// step carries G_i = P / n_i whole groups (several groups per cycle when P > n_i; multipliers
// G_i*n_i .. P-1 stay idle when n_i does not divide P). The words are exactly
// accel/bitlayout.py's, the groups of a step side by side (LSB first):
//   in_w   value j at bits [j*DATA_W +: DATA_W]            (group j / n_i, field j % n_i)
//   in_idx index j at bits [j*b_i +: b_i], b_i = clog2(m_i) (upper bits unused if b_i < IDX_W)
//   in_a   activation lane l at bits [l*DATA_W +: DATA_W]; group g uses lanes g*m_i .. +m_i-1
// so multiplier j reads lane (j / n_i) * m_i + idx[j]. LANES is the widest step over all modes
// (dense: P), IDX_W the widest index. The P products are added to a DATA_W x DATA_W -> ACC_W
// two's-complement accumulator that wraps around.
//
// in_first restarts the sum, in_last finishes it: during the cycle after a last step, done is
// high and acc holds the finished sum (the next tile's first step may arrive in that cycle).
module nm_pe #(
    parameter int P         = 2,
    parameter int NUM_MODES = 1,
    parameter int MODE_N    = 2,
    parameter int MODE_M    = 4,
    parameter int LANES     = 4,
    parameter int IDX_W     = 2,
    parameter int MODE_W    = 1,
    parameter int DATA_W    = 8,
    parameter int ACC_W     = 32
) (
    input  logic                    clk,
    input  logic                    rst,
    input  logic                    in_valid,
    input  logic                    in_first,
    input  logic                    in_last,
    input  logic [      MODE_W-1:0] in_mode,
    input  logic [    P*DATA_W-1:0] in_w,
    input  logic [     P*IDX_W-1:0] in_idx,
    input  logic [LANES*DATA_W-1:0] in_a,
    output logic                    done,
    output logic [       ACC_W-1:0] acc
);
  localparam int LANE_W = $clog2(LANES);
  localparam int SLOTS = 1 << MODE_W;

  // Parameter checks (Python derives the widths: accel/rtl_params.py). Yosys cannot run the
  // loop at elaboration, so synthesis skips them (the simulators and Verilator lint run them).
`ifndef SYNTHESIS
  initial begin : checks
    int n, m, lanes, idx_w;
    if (NUM_MODES < 0 || NUM_MODES > 4) $fatal(1, "nm_pe: NUM_MODES must be in [0, 4], not %0d", NUM_MODES);
    if (MODE_W != ($clog2(NUM_MODES + 1) > 0 ? $clog2(NUM_MODES + 1) : 1))
      $fatal(1, "nm_pe: MODE_W must be max(1, clog2(NUM_MODES+1))");
    if (ACC_W <= 2 * DATA_W) $fatal(1, "nm_pe: ACC_W (%0d) must exceed 2*DATA_W", ACC_W);
    lanes = P;
    idx_w = 1;
    for (int i = 0; i < NUM_MODES; i++) begin
      n = (MODE_N >> (8 * i)) & 255;
      m = (MODE_M >> (8 * i)) & 255;
      if (m < 2 || m > 16 || (m & (m - 1)) != 0)
        $fatal(1, "nm_pe: M must be a power of two in [2, 16], not %0d", m);
      if (n < 1 || n >= m) $fatal(1, "nm_pe: N must be in [1, M), not N=%0d M=%0d", n, m);
      if (n > P) $fatal(1, "nm_pe: %0d:%0d needs at least %0d multipliers, not P=%0d", n, m, n, P);
      if ((P / n) * m > lanes) lanes = (P / n) * m;
      if ($clog2(m) > idx_w) idx_w = $clog2(m);
    end
    if (LANES != lanes) $fatal(1, "nm_pe: LANES must be %0d, not %0d", lanes, LANES);
    if (IDX_W != idx_w) $fatal(1, "nm_pe: IDX_W must be %0d, not %0d", idx_w, IDX_W);
  end
`endif

  if (NUM_MODES == 0) begin : g_dense_only
    // a dense-only PE (group skipping, no N:M mode) has no index to read
    logic unused_ok;
    assign unused_ok = ^in_idx;
  end

  // The activation each multiplier takes, packed like in_w, and which multipliers work.
  logic [P*DATA_W-1:0] a_sel;
  logic [       P-1:0] used;

  for (genvar j = 0; j < P; j++) begin : g_mult
    localparam int JI = j;
    // lane_of / used_of: slot 0 dense, slot i+1 sparse mode i, unused slots idle
    logic [SLOTS*LANE_W-1:0] lane_of;
    logic [       SLOTS-1:0] used_of;
    assign lane_of[0+:LANE_W] = JI[LANE_W-1:0];
    assign used_of[0] = 1'b1;
    for (genvar i = 0; i < SLOTS - 1; i++) begin : g_mode
      localparam int NI = i < NUM_MODES ? (MODE_N >> (8 * i)) & 255 : 1;
      localparam int MI = i < NUM_MODES ? (MODE_M >> (8 * i)) & 255 : 2;
      localparam int BI = $clog2(MI);
      localparam int BASE = (j / NI) * MI;
`ifdef BROKEN_SWAP_IDX
      // Deliberate bug for the testbench self-check: within a group, multiplier j reads the
      // index field of its mirror image (n-1-j).
      localparam int FIELD = (j / NI) * NI + (NI - 1 - j % NI);
`else
      localparam int FIELD = j;
`endif
      if (i < NUM_MODES && j < (P / NI) * NI) begin : g_used
        assign lane_of[(i+1)*LANE_W+:LANE_W] = BASE[LANE_W-1:0] + LANE_W'(in_idx[FIELD*BI+:BI]);
        assign used_of[i+1] = 1'b1;
      end else begin : g_idle
        assign lane_of[(i+1)*LANE_W+:LANE_W] = '0;
        assign used_of[i+1] = 1'b0;
      end
    end
    logic [LANE_W-1:0] lane;
    assign lane = lane_of[in_mode*LANE_W+:LANE_W];
    assign used[j] = used_of[in_mode];
    assign a_sel[j*DATA_W+:DATA_W] = in_a[lane*DATA_W+:DATA_W];
  end

  // Sum of the working multipliers' products; operands are sign-extended to ACC_W before the
  // multiply, so every product and the sum are exact modulo 2**ACC_W.
  logic signed [ACC_W-1:0] step_sum;
  always @* begin
    step_sum = '0;
    for (int k = 0; k < P; k++)
      if (used[k])
        step_sum = step_sum + $signed(in_w[k*DATA_W+:DATA_W]) * $signed(a_sel[k*DATA_W+:DATA_W]);
  end

  always @(posedge clk) begin
    if (in_valid) acc <= (in_first ? '0 : acc) + step_sum;
  end

  always @(posedge clk) begin
    if (rst) done <= 1'b0;
    else done <= in_valid && in_last;
  end
endmodule
