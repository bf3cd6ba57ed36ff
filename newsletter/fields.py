"""Vocabulary profiles of research fields (after arXiv's category taxonomy), for telling fields apart cold.

One word means different fields ("circuit": a transformer mechanism, a chip, a brain pathway), so the
ranking places both the reader's phrases and each paper among these fields and rewards agreement. The
profiles are general descriptions of each field's vocabulary, not tuned to any evaluation set.
"""

from __future__ import annotations

FIELDS: dict[str, str] = {
    "interpretability": """mechanistic interpretability explainability features sparse autoencoder dictionary
        learning superposition polysemantic monosemantic neurons attention heads induction heads residual stream
        activation patching attribution probing probe linear representation steering circuits transcoder
        causal intervention ablation saliency explanation language model internals reverse engineer""",
    "llm": """large language model llm pretraining fine-tuning instruction tuning rlhf alignment reasoning chain of
        thought prompting in-context learning tokens benchmark hallucination retrieval augmented generation agents
        tool use dialogue decoding inference scaling laws reward model preference optimization gpt llama""",
    "ml_architectures": """transformer attention softmax self-attention efficient attention linear attention sparse
        attention long context sequence length kv cache flash memory efficient state space model mamba recurrent
        mixture of experts layer normalization positional encoding rotary embedding architecture throughput""",
    "ml_theory": """kernel methods reproducing kernel hilbert space gaussian process neural tangent kernel random
        features generalization bound sample complexity convex optimization stochastic gradient convergence
        regularization statistical learning theory pac bayes maximum mean discrepancy two-sample test svm""",
    "reinforcement_learning": """reinforcement learning policy value function reward agent environment q-learning
        actor critic offline rl exploration markov decision process bandit planning model-based trajectory""",
    "computer_vision": """image vision segmentation detection object recognition convolutional pixel video
        generation diffusion depth estimation camera 3d reconstruction point cloud visual representation""",
    "nlp": """natural language processing text translation parsing syntax semantics sentiment named entity
        summarization question answering corpus linguistic multilingual speech recognition tokenization""",
    "robotics": """robot manipulation grasping locomotion legged quadruped navigation control policy sim-to-real
        teleoperation dexterous gripper motion planning slam mobile manipulator actuator""",
    "graph_ml": """graph neural network message passing node classification link prediction graph embedding
        knowledge graph molecular graph graph transformer spectral graph convolution""",
    "analog_circuits": """analog circuit mixed-signal cmos transistor amplifier low-noise amplifier lna operational
        amplifier op-amp opamp voltage current bias gain bandwidth noise figure adc dac analog-to-digital converter
        sar pipelined sigma-delta pll phase-locked loop oscillator vco ldo regulator low-dropout bandgap reference
        dc-dc converter buck boost power management rf receiver transmitter chopper offset nm process fd-soi
        finfet mw µw nw quiescent jitter sndr capacitor inductor integrated circuit chip silicon tape-out""",
    "eda": """electronic design automation eda logic synthesis placement routing floorplanning macro placement
        timing analysis static timing gate sizing netlist verilog rtl hardware description physical design
        congestion wirelength and-inverter graph equivalence checking formal verification fpga asic design flow""",
    "computer_architecture": """computer architecture processor cpu accelerator cache memory hierarchy dram hbm
        bandwidth in-memory computing processing-in-memory compute-in-memory sram rram resistive memory crossbar
        non-volatile memristor ferroelectric fefet systolic array tpu energy efficiency microarchitecture""",
    "gpu_hpc": """gpu cuda kernel triton kernels tensor cores gemm matrix multiplication tiling thread block warp
        streaming multiprocessor autotuning compiler high performance computing parallel fp8 fp16 throughput
        tflops fused kernel sparse tensor cusparse""",
    "operating_systems": """operating system linux kernel system call syscall driver file system scheduler
        virtual memory page eBPF io_uring hypervisor virtualization containers kernel module device driver
        concurrency data race fuzzing syzkaller""",
    "security": """security attack vulnerability exploit malware privacy adversarial side channel spectre
        meltdown speculative execution cryptography encryption authentication fuzzing memory safety sandbox
        differential privacy membership inference audit""",
    "networking": """network networking internet protocol tcp packet routing wireless 5g 6g latency throughput
        congestion control datacenter network traffic sdn switch bandwidth communication channel mimo""",
    "databases": """database query sql transaction index storage engine query optimization join scan aggregation
        key-value store olap oltp data management""",
    "neuroscience": """neuroscience neurons neuronal brain cortex cortical hippocampus hippocampal thalamus
        amygdala striatum hypothalamus cerebellum spinal cord synapse synaptic dendrite axon interneurons
        pyramidal dopamine optogenetics two-photon imaging calcium imaging electrophysiology recordings spikes
        firing mice mouse rats rodents macaque monkeys primates drosophila fly zebrafish connectome neural
        circuits behavior oscillations gamma theta sleep learning motor control sensory""",
    "memory_neuro": """memory consolidation engram episodic memory working memory recall retrieval forgetting
        reconsolidation sharp-wave ripples replay sleep hippocampus prefrontal long-term memory encoding""",
    "cognitive_science": """cognition cognitive psychology perception visual attention covert attention spatial
        attention attentional capture saccades eye movements eye tracking participants human observers
        behavioral experiment reaction time working memory decision making eeg fmri pupil arousal awareness""",
    "computational_neuro": """spiking neural network neuromorphic leaky integrate-and-fire biologically plausible
        learning rule predictive coding neural dynamics recurrent network model of cortex place cells grid cells
        surrogate gradient energy-efficient spikes""",
    "quantum_computing": """quantum qubit qubits quantum circuit quantum gate clifford t gate entanglement
        superconducting trapped ion error correction surface code logical qubit decoder variational quantum
        eigensolver vqe qaoa barren plateau transpiler compilation routing swap fidelity noise mitigation
        quantum advantage tensor network simulation hamiltonian""",
    "complexity_theory": """computational complexity circuit complexity lower bound boolean circuits threshold
        circuits monotone circuits ac0 tc0 nc arithmetic circuits algebraic complexity np p pspace reduction
        hardness pseudorandom generator derandomization communication complexity query complexity proof
        complexity minimum circuit size problem meta-complexity logspace formula size""",
    "algorithms": """algorithm approximation graph algorithm shortest path matching flow combinatorial
        optimization online algorithm data structure time complexity polynomial time randomized algorithm""",
    "statistics": """statistics statistical inference estimator bayesian posterior sampling mcmc regression
        hypothesis test confidence interval causal inference time series""",
    "biology": """protein proteins gene genes genome genomic dna rna sequence single-cell transcriptomics cell
        enzyme mutation molecular biology crispr perturbation expression drug discovery""",
    "chemistry_materials": """molecule molecular chemistry material materials crystal structure catalyst dft
        density functional theory synthesis polymer battery inorganic""",
    "physics": """physics particle field theory condensed matter lattice spin ising phase transition quantum
        field cosmology gravity plasma optics photon laser""",
    "photonics": """photonic photonics optical silicon photonics waveguide laser interferometer mach-zehnder
        modulator optical neural network light wavelength""",
    "power_systems": """power system power grid electric grid transformer substation voltage transmission line
        distribution network renewable solar wind inverter load frequency control electricity""",
    "climate_weather": """weather forecasting climate precipitation cyclone temperature atmosphere ocean earth
        system numerical weather prediction""",
    "medicine": """medical clinical patients disease diagnosis cancer pathology radiology mri ct hospital health
        treatment therapy drug trial""",
    "hci": """human-computer interaction user study interface usability interaction design accessibility
        visualization participants survey""",
    "social_networks": """social network social media community detection influence diffusion online platform
        users twitter misinformation network science""",
    "math": """theorem proof lemma algebra topology manifold differential equation pde heat kernel spectral
        operator geometry number theory combinatorics""",
}
